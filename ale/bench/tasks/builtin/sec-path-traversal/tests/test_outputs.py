import os
import sys

import pytest

sys.path.insert(0, "/app")
from static_server import serve  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("srv")
    www, private = base / "www", base / "www-private"
    (www / "guide").mkdir(parents=True)
    (www / "empty").mkdir()
    private.mkdir()
    (www / "index.html").write_bytes(b"home")
    (www / "guide" / "index.html").write_bytes(b"guide")
    (www / "guide" / "intro page.html").write_bytes(b"intro")
    (www / "100%.txt").write_bytes(b"percent")
    (www / "%2e%2e").mkdir()
    (www / "%2e%2e" / "x.txt").write_bytes(b"literal")
    (www / ".env").write_bytes(b"SECRET=1")
    (www / ".git").mkdir()
    (www / ".git" / "config").write_bytes(b"[core]")
    (private / "secret.txt").write_bytes(b"TOPSECRET")
    (private / "index.html").write_bytes(b"TOPSECRET-index")
    (base / "outside.txt").write_bytes(b"TOPSECRET-outside")
    os.symlink(private, www / "docs-private")             # prefix-sharing sibling directory
    os.symlink(private / "secret.txt", www / "innocent.txt")
    os.symlink("/etc/passwd", www / "passwd.html")
    os.symlink(www / "guide" / "intro page.html", www / "intro-link.html")  # stays inside: fine
    os.symlink("guide", www / "guide-link")
    os.symlink(private / "index.html", www / "empty" / "index.html")
    os.symlink(www, base / "www-link")
    return base


def ok(root, path, body):
    status, got = serve(str(root), path)
    assert (status, got) == (200, body), (path, status, got)


def status(root, path):
    st, body = serve(str(root), path)
    assert b"TOPSECRET" not in body and b"root:" not in body
    return st


def test_normal_files(site):
    www = site / "www"
    ok(www, "/", b"home")
    ok(www, "/index.html", b"home")
    ok(www, "/guide/", b"guide")
    ok(www, "/guide", b"guide")
    ok(www, "/guide/intro%20page.html", b"intro")
    ok(www, "/100%25.txt", b"percent")
    ok(www, "/intro-link.html", b"intro")
    ok(www, "/guide-link/intro%20page.html", b"intro")
    ok(www, "//guide//index.html", b"guide")


def test_root_variants(site):
    ok(str(site / "www") + "/", "/guide/", b"guide")
    ok(site / "www-link", "/guide/intro%20page.html", b"intro")
    assert status(site / "www-link", "/innocent.txt") == 403


@pytest.mark.parametrize("path", ["/../outside.txt", "/guide/../../outside.txt", "/%2e%2e/outside.txt",
                                  "/%2E%2E%2Foutside.txt", "/guide/..%2f..%2foutside.txt", "/..",
                                  "/guide/..%5c..%5coutside.txt", "/index.html%00.png", "/a\\b"])
def test_traversal_refused(site, path):
    assert status(site / "www", path) == 403


def test_decoded_once(site):
    # %252e%252e is the literal directory name "%2e%2e", not a parent reference
    ok(site / "www", "/%252e%252e/x.txt", b"literal")
    assert status(site / "www", "/%252e%252e%252foutside.txt") == 404


@pytest.mark.parametrize("path", ["/docs-private/secret.txt", "/docs-private/", "/innocent.txt",
                                  "/passwd.html", "/empty/"])
def test_symlink_escape_refused(site, path):
    assert status(site / "www", path) == 403


@pytest.mark.parametrize("path", ["/.env", "/.git/config", "/guide/.hidden", "/%2eenv"])
def test_hidden_not_served(site, path):
    assert status(site / "www", path) == 404


@pytest.mark.parametrize("path", ["/nope.html", "/guide/nope/", "/empty-dir-missing/"])
def test_missing(site, path):
    assert status(site / "www", path) == 404
