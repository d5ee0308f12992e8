import subprocess

REPO = "/srv/git/project.git"
MAIN = "5c1915f2b488c07ae6c25d157537b8283078b71b"
RELEASE = "46ab01f1f2f1f274ae3ced30d03538b3209c37b2"


def git(*a, cwd=REPO, check=True):
    return subprocess.run(["git", *a], cwd=cwd, capture_output=True, text=True, check=check, timeout=60)


def test_head_main():
    assert git("symbolic-ref", "HEAD").stdout.strip() == "refs/heads/main"
    assert git("rev-parse", "refs/heads/main").stdout.strip() == MAIN


def test_release_recovered():
    assert git("rev-parse", "refs/heads/release").stdout.strip() == RELEASE
    assert git("show", "release:VERSION").stdout == "2.0\n"


def test_fsck_clean():
    r = git("fsck", "--full", "--no-dangling", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "corrupt" not in r.stderr and "missing" not in r.stdout + r.stderr


def test_clone_full_history(tmp_path):
    dst = tmp_path / "c"
    r = git("clone", "-q", "--no-local", REPO, str(dst), cwd=tmp_path, check=False)
    assert r.returncode == 0, r.stderr
    assert git("rev-parse", "HEAD", cwd=dst).stdout.strip() == MAIN
    assert git("show", "HEAD~2:docs/history.txt", cwd=dst).stdout == "history: founded 2019\n"
    assert git("rev-parse", "origin/release", cwd=dst).stdout.strip() == RELEASE
    assert git("log", "--format=%s", "origin/release", cwd=dst).stdout.splitlines()[:2] == ["release 2.0", "release candidate"]
