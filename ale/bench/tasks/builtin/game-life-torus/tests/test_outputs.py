import random
import subprocess


def ref(grid, n):
    H, W = len(grid), len(grid[0])
    g = [[c == "#" for c in r] for r in grid]
    for _ in range(n):
        new = []
        for y in range(H):
            row = []
            for x in range(W):
                k = sum(g[(y + dy) % H][(x + dx) % W] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
                row.append(k == 3 or (k == 2 and g[y][x]))
            new.append(row)
        g = new
    return ["".join("#" if c else "." for c in r) for r in g]


def run(tmp_path, grid, n):
    p = tmp_path / "g.txt"
    p.write_text("\n".join(grid) + "\n")
    r = subprocess.run(["python3", "/app/life.py", str(p), str(n)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [l for l in r.stdout.splitlines() if l.strip()]


def test_zero_generations(tmp_path):
    grid = open("/app/glider.txt").read().split()
    assert run(tmp_path, grid, 0) == grid


def test_glider_wraps_back(tmp_path):
    grid = open("/app/glider.txt").read().split()
    # on a 10x6 torus the glider returns to its start after lcm(10,6)*4 = 120 generations
    assert run(tmp_path, grid, 120) == grid
    assert run(tmp_path, grid, 4) == ref(grid, 4) != grid


def test_blinker_on_edge(tmp_path):
    grid = ["#....", "#....", ".....", ".....", "#...."]
    assert run(tmp_path, grid, 1) == ["##..#", ".....", ".....", ".....", "....."]


def test_random_grids(tmp_path):
    rnd = random.Random(4)
    for h, w, n in [(7, 9, 13), (20, 31, 50), (3, 3, 2), (60, 60, 200)]:
        grid = ["".join(rnd.choice("#..") for _ in range(w)) for _ in range(h)]
        assert run(tmp_path, grid, n) == ref(grid, n), (h, w, n)
