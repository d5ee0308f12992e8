#!/bin/bash
cat > /app/quad.py <<'PY'
def _check_n(n, even):
    if not isinstance(n, int) or isinstance(n, bool) or n < (2 if even else 1) or (even and n % 2):
        raise ValueError(f"bad number of subintervals: {n!r}")


def trapezoid(f, a, b, n):
    _check_n(n, False)
    h = (b - a) / n
    s = 0.5 * (f(float(a)) + f(float(b)))
    for i in range(1, n):
        s += f(a + i * h)
    return s * h


def simpson(f, a, b, n):
    _check_n(n, True)
    h = (b - a) / n
    s = f(float(a)) + f(float(b))
    for i in range(1, n):
        s += (4 if i % 2 else 2) * f(a + i * h)
    return s * h / 3


def integrate(f, a, b, tol):
    n = 2
    prev = simpson(f, a, b, n)
    while True:
        n *= 2
        if n > 2 ** 20:
            raise RuntimeError("did not converge")
        cur = simpson(f, a, b, n)
        if abs(cur - prev) < tol:
            return float(cur)
        prev = cur
PY
