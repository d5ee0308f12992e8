import json
import random
import subprocess
import time
from functools import lru_cache


def run(spec, timeout=60):
    r = subprocess.run(["python3", "/app/game.py"], input=json.dumps(spec), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def brute(spec):
    """Direct game-tree search over multisets of heaps (no Sprague-Grundy theory), small inputs only."""
    take, split = tuple(sorted(set(spec["take"]))), spec["split"]

    def children(pos):
        for i, h in enumerate(pos):
            rest = pos[:i] + pos[i + 1:]
            for k in take:
                if k <= h:
                    r = h - k
                    results = [[r] if r else []]
                    if split:
                        results += [[a, r - a] for a in range(1, r // 2 + 1)]
                    for res in results:
                        yield i, k, res, tuple(sorted(rest + tuple(res)))

    @lru_cache(maxsize=None)
    def wins(pos):
        return any(not wins(c) for _, _, _, c in children(pos))

    heaps = tuple(spec["heaps"])
    moves = []
    for i, h in enumerate(heaps):
        rest = heaps[:i] + heaps[i + 1:]
        for k in take:
            if k <= h:
                r = h - k
                results = [[r] if r else []] + ([[a, r - a] for a in range(1, r // 2 + 1)] if split else [])
                for res in results:
                    if not wins(tuple(sorted(rest + tuple(res)))):
                        moves.append({"heap": i, "take": k, "result": res})
    moves.sort(key=lambda m: (m["heap"], m["take"], m["result"]))
    return {"winner": "first" if moves else "second", "winning_moves": moves}


def test_example():
    spec = json.load(open("/app/example.json"))
    assert run(spec) == brute(spec)


def test_small_random_against_game_tree():
    rnd = random.Random(13)
    for _ in range(40):
        spec = {"take": rnd.sample(range(1, 5), rnd.randint(1, 3)), "split": rnd.random() < 0.6,
                "heaps": [rnd.randint(1, 9) for _ in range(rnd.randint(1, 3))]}
        assert run(spec) == brute(spec), spec


def test_no_split_is_subtraction_game():
    spec = {"take": [1, 3, 4], "split": False, "heaps": [7, 14]}
    assert run(spec) == brute(spec)


def grundy(n, take, split):
    g = [0] * (n + 1)
    for h in range(1, n + 1):
        s = set()
        for k in take:
            if k <= h:
                s.add(g[h - k])
                if split:
                    s.update(g[a] ^ g[h - k - a] for a in range(1, (h - k) // 2 + 1))
        g[h] = min(set(range(len(s) + 1)) - s)
    return g


def test_large_fast():
    rnd = random.Random(99)
    spec = {"take": [2, 3, 7], "split": True, "heaps": [rnd.randint(500, 1000) for _ in range(10)]}
    t = time.monotonic()
    out = run(spec)
    assert time.monotonic() - t < 10
    g = grundy(1000, spec["take"], True)
    total = 0
    for h in spec["heaps"]:
        total ^= g[h]
    assert out["winner"] == ("first" if total else "second")
    # every reported move must really leave a zero position, and none may be missing
    exp = []
    for i, h in enumerate(spec["heaps"]):
        rest = total ^ g[h]
        for k in spec["take"]:
            r = h - k
            if g[r] == rest:
                exp.append({"heap": i, "take": k, "result": [r]})
            exp += [{"heap": i, "take": k, "result": [a, r - a]} for a in range(1, r // 2 + 1) if g[a] ^ g[r - a] == rest]
    exp.sort(key=lambda m: (m["heap"], m["take"], m["result"]))
    assert out["winning_moves"] == exp
