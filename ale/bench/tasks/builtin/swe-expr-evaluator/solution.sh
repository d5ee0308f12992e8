#!/bin/bash
cat > /app/calc.py <<'PY'
"""Recursive-descent evaluator for a small arithmetic language (see the task grammar)."""
import math
import re


class CalcSyntaxError(ValueError):
    def __init__(self, msg, pos):
        super().__init__(f"{msg} at position {pos}")
        self.pos = pos


class CalcNameError(ValueError):
    pass


_TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
                    r"|(?P<op>[-+*/%^(),]))")
_CONSTS = {"pi": math.pi, "e": math.e}


def _sqrt(x):
    if x < 0:
        raise ValueError("sqrt of a negative number")
    return math.sqrt(x)


# name -> (function of the argument list, min args, max args or None)
_FUNCS = {"sqrt": (lambda a: _sqrt(a[0]), 1, 1), "abs": (lambda a: abs(a[0]), 1, 1),
          "round": (lambda a: float(round(a[0])), 1, 1), "min": (min, 1, None), "max": (max, 1, None)}


def _tokenize(s):
    toks, i = [], 0
    while True:
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s):
            break
        m = _TOKEN.match(s, i)
        if not m or m.end() == i:
            raise CalcSyntaxError(f"unexpected character {s[i]!r}", i)
        kind = m.lastgroup
        start = m.start(kind)
        toks.append((kind, m.group(kind), start))
        i = m.end()
    toks.append(("end", None, len(s)))
    return toks


class _Parser:
    def __init__(self, text, variables):
        self.toks = _tokenize(text)
        self.i = 0
        self.vars = variables or {}

    def peek(self):
        return self.toks[self.i]

    def take(self, value=None):
        tok = self.toks[self.i]
        if value is not None and tok[1] != value:
            raise CalcSyntaxError(f"expected {value!r}", tok[2])
        self.i += 1
        return tok

    def expr(self):
        v = self.term()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            op = self.take()[1]
            r = self.term()
            v = v + r if op == "+" else v - r
        return v

    def term(self):
        v = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            r = self.unary()
            if op == "*":
                v = v * r
            elif r == 0:
                raise ZeroDivisionError("division by zero")
            else:
                v = v / r if op == "/" else v % r
        return v

    def unary(self):
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("+", "-"):
            self.take()
            v = self.unary()
            return -v if tok[1] == "-" else v
        return self.power()

    def power(self):
        v = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] == "^":
            self.take()
            v = float(v ** self.unary())
        return v

    def atom(self):
        kind, val, pos = self.take()
        if kind == "num":
            return float(val)
        if kind == "name":
            if self.peek()[1] == "(" and self.peek()[0] == "op":
                self.take()
                args = []
                if self.peek()[1] != ")":
                    args.append(self.expr())
                    while self.peek()[1] == ",":
                        self.take()
                        args.append(self.expr())
                self.take(")")
                if val not in _FUNCS:
                    raise CalcNameError(f"unknown function {val!r}")
                fn, lo, hi = _FUNCS[val]
                if len(args) < lo or (hi is not None and len(args) > hi):
                    raise CalcNameError(f"wrong number of arguments for {val}")
                return float(fn(args))
            if val in self.vars:
                return float(self.vars[val])
            if val in _CONSTS:
                return _CONSTS[val]
            raise CalcNameError(f"unknown name {val!r}")
        if kind == "op" and val == "(":
            v = self.expr()
            self.take(")")
            return v
        raise CalcSyntaxError("unexpected token" if kind != "end" else "unexpected end", pos)


def evaluate(expr, variables=None):
    import sys
    if sys.getrecursionlimit() < 10000:
        sys.setrecursionlimit(10000)  # 200 nested parentheses need ~5 frames each
    p = _Parser(expr, variables)
    v = p.expr()
    kind, _, pos = p.peek()
    if kind != "end":
        raise CalcSyntaxError("trailing input", pos)
    return float(v)
PY
