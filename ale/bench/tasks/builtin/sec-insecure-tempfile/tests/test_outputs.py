import json
import os
import stat
import subprocess
import sys

import pytest

PROGS = {"users": (["bash", "/app/bin/export_users.sh"], "users.json"),
         "stats": ([sys.executable, "/app/bin/stats.py"], "stats.json")}
EXPECTED = {"users.json": [{"username": "alice", "uid": 1001}, {"username": "carol", "uid": 1003},
                           {"username": "dave", "uid": 1004}, {"username": "frank", "uid": 1006}],
            "stats.json": {"total": 6, "active": 4, "inactive": 2}}
OLD_PATHS = ["/tmp/export_users.tmp", "/tmp/stats_cache.json"]


@pytest.fixture()
def env(tmp_path):
    out = tmp_path / "export"
    out.mkdir()
    e = dict(os.environ, EXPORT_DIR=str(out), USERS_CSV="/app/data/users.csv")
    yield e, out
    for p in OLD_PATHS:
        if os.path.islink(p) or os.path.exists(p):
            os.remove(p)


def run(kind, e):
    return subprocess.run(PROGS[kind][0], env=e, capture_output=True, text=True, timeout=60)


def tmp_listing():
    return sorted(os.listdir("/tmp"))


@pytest.mark.parametrize("kind", ["users", "stats"])
def test_output_and_mode(env, kind):
    e, out = env
    r = run(kind, e)
    assert r.returncode == 0, r.stderr
    name = PROGS[kind][1]
    assert json.load(open(out / name)) == EXPECTED[name]
    assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o644
    assert sorted(os.listdir(out)) == [name], "temporary files left in the export dir"


@pytest.mark.parametrize("kind", ["users", "stats"])
def test_symlink_attack(env, tmp_path, kind):
    e, out = env
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    for p in OLD_PATHS:
        if os.path.lexists(p):
            os.remove(p)
        os.symlink(victim, p)
    r = run(kind, e)
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600
    assert r.returncode == 0, r.stderr
    assert json.load(open(out / PROGS[kind][1])) == EXPECTED[PROGS[kind][1]]
    for p in OLD_PATHS:
        assert os.path.islink(p) and os.readlink(p) == str(victim)


@pytest.mark.parametrize("kind", ["users", "stats"])
def test_atomic_replace(env, kind):
    e, out = env
    name = PROGS[kind][1]
    (out / name).write_text("OLD CONTENT\n")
    fh = open(out / name)  # a reader holding the old file must still see complete old data
    assert run(kind, e).returncode == 0
    assert fh.read() == "OLD CONTENT\n"
    fh.close()
    assert json.load(open(out / name)) == EXPECTED[name]


@pytest.mark.parametrize("kind", ["users", "stats"])
def test_failure_leaves_old_output_and_no_temp(env, kind):
    e, out = env
    name = PROGS[kind][1]
    (out / name).write_text("PREVIOUS\n")
    before = tmp_listing()
    e = dict(e, USERS_CSV="/nonexistent/users.csv")
    r = run(kind, e)
    assert r.returncode != 0
    assert (out / name).read_text() == "PREVIOUS\n"
    assert sorted(os.listdir(out)) == [name]
    assert tmp_listing() == before


@pytest.mark.parametrize("kind", ["users", "stats"])
def test_no_temp_left_in_tmp(env, kind):
    e, out = env
    before = tmp_listing()
    assert run(kind, e).returncode == 0
    assert tmp_listing() == before


def test_concurrent_runs(env):
    e, out = env
    procs = [subprocess.Popen(PROGS[k][0], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for k in ["users", "stats"] * 6]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0] * len(procs)
    assert json.load(open(out / "users.json")) == EXPECTED["users.json"]
    assert json.load(open(out / "stats.json")) == EXPECTED["stats.json"]
    assert sorted(os.listdir(out)) == ["stats.json", "users.json"]
