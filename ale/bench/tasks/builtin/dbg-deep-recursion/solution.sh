#!/bin/bash
cd /app
python3 - <<'PY'
s = open("sexpr.py").read()
start = s.index("def parse(")
end = s.index("def main(")
new = '''OPS = ("+", "*", "-", "max", "min")


def apply(op, vals):
    if op == "+":
        return sum(vals)
    if op == "*":
        out = 1
        for v in vals:
            out *= v
        return out
    if not vals:
        raise SyntaxError(f"{op} needs arguments")
    if op == "-":
        return -vals[0] if len(vals) == 1 else vals[0] - sum(vals[1:])
    return max(vals) if op == "max" else min(vals)


def run(tokens):
    """Parse and evaluate with an explicit stack (no recursion). Returns (value, depth, next_index)."""
    stack = []  # frames: [op, values]
    depth = 0
    i = 0
    result = None
    while True:
        if i >= len(tokens):
            raise SyntaxError("unexpected end of input" if not stack else "missing )")
        t = tokens[i]
        if t == "(":
            if i + 1 >= len(tokens) or tokens[i + 1] not in OPS:
                raise SyntaxError("expected an operator after (")
            stack.append([tokens[i + 1], []])
            depth = max(depth, len(stack))
            i += 2
            continue
        if t == ")":
            if not stack:
                raise SyntaxError("unexpected )")
            op, vals = stack.pop()
            value = ("call", op, vals)
            i += 1
        else:
            if not __import__("re").fullmatch(r"-?\\d+", t):
                raise SyntaxError(f"bad token {t!r}")
            value = int(t)
            i += 1
        if stack:
            stack[-1][1].append(value)
        else:
            result = value
            break
    return result, depth, i


def evaluate(node):
    """Evaluate the tree built by run() without recursion (post-order with an explicit stack)."""
    if not isinstance(node, tuple):
        return node
    todo = [(node, False)]
    out = []
    while todo:
        n, done = todo.pop()
        if not isinstance(n, tuple):
            out.append(n)
        elif done:
            k = len(n[2])
            vals = out[len(out) - k:] if k else []
            del out[len(out) - k:]
            out.append(apply(n[1], vals))
        else:
            todo.append((n, True))
            for kid in reversed(n[2]):
                todo.append((kid, False))
    return out[0]


'''
main = s[end:].replace("node, depth, end = parse(tokens, 0)", "node, depth, end = run(tokens)")
open("sexpr.py", "w").write(s[:start] + new + main)
PY
