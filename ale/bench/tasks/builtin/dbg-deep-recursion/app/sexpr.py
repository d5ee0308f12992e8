"""Evaluate an arithmetic s-expression.

usage: python3 sexpr.py FILE
FILE holds one expression: an integer (e.g. 42, -7) or "(OP ARG ...)" with OP one of
  +   sum of the args (0 args -> 0)          *   product of the args (0 args -> 1)
  -   one arg: negation; more: first minus all others
  max / min   of one or more args
Tokens are separated by whitespace and/or parentheses. Prints "value=V depth=D" where D is the
maximum nesting depth of parentheses (a bare integer has depth 0). On a syntax error (unbalanced
parentheses, unknown operator, bad token, missing args for -, max, min, trailing tokens) prints
"error: ..." to stderr and exits with status 1.
"""
import re
import sys

TOKEN = re.compile(r"\(|\)|[^\s()]+")


def parse(tokens, i):
    """Return (node, depth, next_index). A node is an int or a (op, [children]) tuple."""
    if i >= len(tokens):
        raise SyntaxError("unexpected end of input")
    t = tokens[i]
    if t == "(":
        if i + 1 >= len(tokens) or tokens[i + 1] not in ("+", "*", "-", "max", "min"):
            raise SyntaxError("expected an operator after (")
        op, i, kids, depth = tokens[i + 1], i + 2, [], 1
        while i < len(tokens) and tokens[i] != ")":
            kid, d, i = parse(tokens, i)
            kids.append(kid)
            depth = max(depth, d + 1)
        if i >= len(tokens):
            raise SyntaxError("missing )")
        return (op, kids), depth, i + 1
    if t == ")":
        raise SyntaxError("unexpected )")
    if not re.fullmatch(r"-?\d+", t):
        raise SyntaxError(f"bad token {t!r}")
    return int(t), 0, i + 1


def evaluate(node):
    if isinstance(node, int):
        return node
    op, kids = node
    if op == "+":
        return sum(evaluate(k) for k in kids)
    if op == "*":
        out = 1
        for v in map(evaluate, kids):
            out *= v
        return out
    if not kids:
        raise SyntaxError(f"{op} needs arguments")
    vals = [evaluate(k) for k in kids]
    if op == "-":
        return -vals[0] if len(vals) == 1 else vals[0] - sum(vals[1:])
    return max(vals) if op == "max" else min(vals)


def main(path):
    tokens = TOKEN.findall(open(path).read())
    try:
        node, depth, end = parse(tokens, 0)
        if end != len(tokens):
            raise SyntaxError("trailing tokens")
        value = evaluate(node)
    except SyntaxError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"value={value} depth={depth}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
