#!/bin/bash
cat > /app/projectile.py <<'PY'
"""RK4 with a small fixed step; apex and landing located by bisection on the step fraction."""
import json
import math

P = json.load(open("/app/params.json"))
g = P["g"]


def rhs(s, k):
    x, y, vx, vy = s
    v = math.hypot(vx, vy)
    return [vx, vy, -k * v * vx, -g - k * v * vy]


def rk4(s, h, k):
    k1 = rhs(s, k)
    k2 = rhs([a + h / 2 * b for a, b in zip(s, k1)], k)
    k3 = rhs([a + h / 2 * b for a, b in zip(s, k2)], k)
    k4 = rhs([a + h * b for a, b in zip(s, k3)], k)
    return [a + h / 6 * (b + 2 * c + 2 * d + e) for a, b, c, d, e in zip(s, k1, k2, k3, k4)]


def locate(s, h, k, idx):
    lo, hi = 0.0, h
    for _ in range(60):
        m = (lo + hi) / 2
        if rk4(s, m, k)[idx] > 0:
            lo = m
        else:
            hi = m
    return lo


def solve(c, h=2e-3):
    th = math.radians(c["angle_deg"])
    k = c["k"]
    s = [0.0, 0.0, c["v0"] * math.cos(th), c["v0"] * math.sin(th)]
    t, ymax = 0.0, 0.0
    while True:
        s2 = rk4(s, h, k)
        if s[3] >= 0 > s2[3]:
            ymax = rk4(s, locate(s, h, k, 3), k)[1]
        if s2[1] < 0:
            dt = locate(s, h, k, 1)
            return {"range": rk4(s, dt, k)[0], "flight_time": t + dt, "max_height": ymax}
        s, t = s2, t + h


json.dump([solve(c) for c in P["cases"]], open("/app/results.json", "w"), indent=1)
PY
python3 /app/projectile.py
