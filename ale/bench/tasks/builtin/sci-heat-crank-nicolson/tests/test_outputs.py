import json
import subprocess
import time

import numpy as np
import pytest


def run(u0, D, T, dt, tmp_path, timeout=120):
    inp, out = tmp_path / "in.json", tmp_path / "out.txt"
    inp.write_text(json.dumps({"D": D, "T": T, "dt": dt, "u0": list(map(float, u0))}))
    subprocess.run(["python3", "/app/heat.py", str(inp), str(out)], check=True, timeout=timeout)
    vals = np.array([float(v) for v in out.read_text().split()])
    assert len(vals) == len(u0)
    return vals


def modes(N, coefs):
    x = np.linspace(0, 1, N + 1)
    u = sum(c * np.sin((k + 1) * np.pi * x) for k, c in enumerate(coefs))
    u[0] = u[-1] = 0.0
    return x, u


def exact(x, coefs, D, T):
    return sum(c * np.exp(-D * ((k + 1) * np.pi) ** 2 * T) * np.sin((k + 1) * np.pi * x)
               for k, c in enumerate(coefs))


def discrete_cn(u0, D, T, dt):
    N = len(u0) - 1
    r = D * dt * N * N
    m = N - 1
    L = np.diag(-2 * np.ones(m)) + np.diag(np.ones(m - 1), 1) + np.diag(np.ones(m - 1), -1)
    step = np.linalg.solve(np.eye(m) - r / 2 * L, np.eye(m) + r / 2 * L)
    v = np.array(u0[1:-1], float)
    for _ in range(int(round(T / dt))):
        v = step @ v
    return np.concatenate([[0.0], v, [0.0]])


def test_matches_analytic_two_modes(tmp_path):
    coefs = [1.0, 0.0, 0.5]
    x, u0 = modes(200, coefs)
    got = run(u0, 0.1, 0.5, 0.01, tmp_path)
    # CN error here is ~2e-5; backward Euler is off by ~2e-3 and explicit Euler blows up
    assert np.max(np.abs(got - exact(x, coefs, 0.1, 0.5))) < 1e-4


def test_matches_analytic_random_modes(tmp_path):
    rng = np.random.default_rng(42)
    coefs = rng.normal(size=5).tolist()
    x, u0 = modes(300, coefs)
    got = run(u0, 0.05, 0.3, 0.005, tmp_path)
    assert np.max(np.abs(got - exact(x, coefs, 0.05, 0.3))) < 1e-4


def test_is_exactly_crank_nicolson(tmp_path):
    rng = np.random.default_rng(7)
    u0 = rng.normal(size=81)
    u0[0] = u0[-1] = 0.0
    got = run(u0, 1.0, 0.05, 0.002, tmp_path)
    assert np.allclose(got, discrete_cn(u0, 1.0, 0.05, 0.002), atol=1e-9, rtol=0)


def test_boundaries_zero(tmp_path):
    x, u0 = modes(50, [0.0, 2.0])
    got = run(u0, 0.2, 0.1, 0.01, tmp_path)
    assert got[0] == 0.0 and got[-1] == 0.0


def test_large_grid_fast(tmp_path):
    coefs = [1.0, 0.3]
    x, u0 = modes(2000, coefs)
    t = time.perf_counter()
    got = run(u0, 0.01, 0.4, 0.001, tmp_path, timeout=200)
    assert time.perf_counter() - t < 60
    assert np.max(np.abs(got - exact(x, coefs, 0.01, 0.4))) < 1e-4
