#!/bin/bash
cat > /app/spline.py <<'PY'
"""Natural cubic spline: second-derivative (moment) form, tridiagonal system by the Thomas method."""
import numpy as np


class NaturalCubicSpline:
    def __init__(self, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError("x and y must be 1-D of equal length")
        if len(x) < 2:
            raise ValueError("need at least 2 knots")
        if np.any(np.diff(x) <= 0):
            raise ValueError("x must be strictly increasing")
        self.x, self.y = x, y
        h = np.diff(x)
        n = len(x)
        M = np.zeros(n)
        if n > 2:
            sub = h[1:-1].copy()
            diag = 2 * (h[:-1] + h[1:])
            rhs = 6 * (np.diff(y[1:]) / h[1:] - np.diff(y[:-1]) / h[:-1])
            m = n - 2
            cp = np.zeros(m)
            dp = np.zeros(m)
            for i in range(m):
                a = sub[i - 1] if i > 0 else 0.0
                den = diag[i] - a * (cp[i - 1] if i > 0 else 0.0)
                cp[i] = (sub[i] / den) if i < m - 1 else 0.0
                dp[i] = (rhs[i] - a * (dp[i - 1] if i > 0 else 0.0)) / den
            for i in range(m - 2, -1, -1):
                dp[i] -= cp[i] * dp[i + 1]
            M[1:-1] = dp
        self.M, self.h = M, h

    def _locate(self, xq):
        xq = np.asarray(xq, dtype=float)
        if np.any((xq < self.x[0]) | (xq > self.x[-1])) or np.any(np.isnan(xq)):
            raise ValueError("query outside the knot range")
        i = np.clip(np.searchsorted(self.x, xq, side="right") - 1, 0, len(self.x) - 2)
        return xq, i

    def _eval(self, xq, order):
        xq, i = self._locate(xq)
        h = self.h[i]
        A = (self.x[i + 1] - xq) / h
        B = (xq - self.x[i]) / h
        M0, M1, y0, y1 = self.M[i], self.M[i + 1], self.y[i], self.y[i + 1]
        if order == 0:
            r = A * y0 + B * y1 + ((A ** 3 - A) * M0 + (B ** 3 - B) * M1) * h * h / 6
        elif order == 1:
            r = (y1 - y0) / h - (3 * A * A - 1) / 6 * h * M0 + (3 * B * B - 1) / 6 * h * M1
        elif order == 2:
            r = A * M0 + B * M1
        else:
            raise ValueError("order must be 1 or 2")
        return float(r) if np.ndim(r) == 0 else r

    def __call__(self, xq):
        return self._eval(xq, 0)

    def derivative(self, xq, order=1):
        if order not in (1, 2):
            raise ValueError("order must be 1 or 2")
        return self._eval(xq, order)

    def _antideriv(self, t):
        # integral from x[0] to t
        t, i = self._locate(t)
        h = self.h
        full = h * (self.y[:-1] + self.y[1:]) / 2 - h ** 3 * (self.M[:-1] + self.M[1:]) / 24
        cum = np.concatenate([[0.0], np.cumsum(full)])
        hi = h[i]
        A = (self.x[i + 1] - t) / hi
        B = (t - self.x[i]) / hi
        # antiderivative in the cell, from x[i] (A=1,B=0) to t
        def F(A, B):
            return hi * (-(A * A) / 2 * self.y[i] + (B * B) / 2 * self.y[i + 1]
                         + hi * hi / 6 * (-(A ** 4 / 4 - A * A / 2) * self.M[i]
                                          + (B ** 4 / 4 - B * B / 2) * self.M[i + 1]))
        return float(cum[i] + F(A, B) - F(1.0, 0.0))

    def integrate(self, a, b):
        return self._antideriv(b) - self._antideriv(a)
PY
