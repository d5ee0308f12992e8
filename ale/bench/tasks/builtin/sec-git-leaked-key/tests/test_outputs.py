import subprocess

import pytest

KEY = "AKIAZ7Q4LEAKED9X2M3K"
SECRET = "q8Vt3nR1sLw0Yp6Zb2Hc5Jm9Kd4Fx7Ga1Ne3Uo"
REPO = "/app/repo"


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("orig") / "repo")
    subprocess.run(["bash", "/tests/mkrepo.sh", d], check=True, capture_output=True)
    return d


def history(repo, ref):
    out = []
    for sha in git(repo, "rev-list", "--reverse", "--topo-order", ref).decode().split():
        msg = git(repo, "log", "-1", "--format=%an <%ae>%n%B", sha)
        files = {}
        for path in git(repo, "ls-tree", "-r", "--name-only", sha).decode().split("\n"):
            if path:
                files[path] = git(repo, "show", f"{sha}:{path}")
        out.append((msg, files))
    return out


def test_key_id_reported():
    assert open("/app/leaked_key_id.txt").read().strip() == KEY


def test_no_secret_in_any_object():
    blob = subprocess.run(["git", "-C", REPO, "cat-file", "--batch-all-objects", "--batch"],
                          capture_output=True, check=True).stdout
    assert KEY.encode() not in blob and SECRET.encode() not in blob


def test_no_secret_in_history_text():
    log = git(REPO, "log", "--all", "-p", "--reflog")
    assert KEY.encode() not in log and SECRET.encode() not in log


def test_same_refs(original):
    def refs(repo):
        return sorted(r for r in git(repo, "for-each-ref", "--format=%(refname) %(objecttype)").decode().split("\n")
                      if r and not r.startswith("refs/original"))
    assert refs(REPO) == refs(original)
    assert git(REPO, "cat-file", "-t", "v1.0").strip() == b"tag"
    assert b"Release 1.0" in git(REPO, "cat-file", "-p", "v1.0")


@pytest.mark.parametrize("ref", ["main", "feature/cli", "v1.0"])
def test_history_preserved_and_redacted(original, ref):
    new, old = history(REPO, ref), history(original, ref)
    assert len(new) == len(old)
    for (nmsg, nfiles), (omsg, ofiles) in zip(new, old):
        assert nmsg == omsg
        expected = {p: c.replace(KEY.encode(), b"REDACTED").replace(SECRET.encode(), b"REDACTED")
                    for p, c in ofiles.items()}
        assert nfiles == expected


def test_main_tip_tree_unchanged(original):
    assert git(REPO, "rev-parse", "main^{tree}") == git(original, "rev-parse", "main^{tree}")
