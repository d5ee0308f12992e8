import hashlib
import os
import subprocess

ROOT = "/srv/release"
EXPECTED_AUDIT = [
    "MODIFIED bin/file00.sh",
    "UNLISTED bin/.hidden",
    "MODIFIED etc/file14.conf",
    "MODIFIED lib/file01.so",
    "UNLISTED lib/plugins/file99.py",
    "MISSING share/doc/file18.txt",
]


def listed():
    out = {}
    for line in open(os.path.join(ROOT, "SHA256SUMS")):
        digest, path = line.split(None, 1)
        out[path.strip()] = digest
    return out


def test_sums_file_untouched():
    sums = listed()
    assert len(sums) == 24
    digest = hashlib.sha256(open(os.path.join(ROOT, "SHA256SUMS"), "rb").read()).hexdigest()
    backup = subprocess.run(["tar", "xzOf", "/srv/backup/release-full.tar.gz", "./SHA256SUMS"],
                            capture_output=True, check=True).stdout
    assert digest == hashlib.sha256(backup).hexdigest()


def test_audit_report():
    lines = [ln.strip() for ln in open("/app/audit.txt") if ln.strip()]
    assert sorted(lines, key=lambda s: s.split(" ", 1)[1]) == lines, "not sorted by path"
    assert lines == sorted(EXPECTED_AUDIT, key=lambda s: s.split(" ", 1)[1])


def test_tree_restored():
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_exactly_listed_files():
    present = set()
    for d, _, files in os.walk(ROOT):
        for f in files:
            present.add(os.path.relpath(os.path.join(d, f), ROOT))
    assert present == set(listed()) | {"SHA256SUMS"}
