import grp
import os
import stat
from pathlib import Path

W = "/srv/webapp"
ROOT, WEB = 0, 3000


def entries():
    for root, dirs, files in os.walk(W):
        for n in dirs + files:
            yield os.path.join(root, n)


def check(path, uid, gid, mode):
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid) == (uid, gid), path
    assert stat.S_IMODE(st.st_mode) == mode, (path, oct(stat.S_IMODE(st.st_mode)))


def test_code_tree():
    check(W, ROOT, WEB, 0o750)
    for p in ["app", "app/lib", "bin", "config", "static", "static/css"]:
        check(f"{W}/{p}", ROOT, WEB, 0o750)
    for p in ["app/main.py", "app/lib/util.py", "config/app.ini", "static/css/site.css"]:
        check(f"{W}/{p}", ROOT, WEB, 0o640)
    for p in ["bin/start.sh", "bin/migrate.sh"]:
        check(f"{W}/{p}", ROOT, WEB, 0o750)


def test_secrets():
    for p in ["config/secrets.env", "config/tls.key"]:
        check(f"{W}/{p}", WEB, WEB, 0o400)


def test_uploads():
    check(f"{W}/uploads", WEB, WEB, 0o2770)
    check(f"{W}/uploads/2024", WEB, WEB, 0o2770)
    check(f"{W}/uploads/2024/a.png", WEB, WEB, 0o660)
    check(f"{W}/uploads/b c.txt", WEB, WEB, 0o660)


def test_global_rules():
    for p in entries():
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            target = os.path.realpath(p)
            assert target == W or target.startswith(W + "/"), p
            continue
        assert not st.st_mode & stat.S_ISUID, p
        assert not st.st_mode & stat.S_IRWXO, p


def test_links():
    assert not os.path.lexists(f"{W}/uploads/evil")
    assert os.path.islink(f"{W}/static/app.ini")
    assert os.readlink(f"{W}/static/app.ini") == "../config/app.ini"


def test_outside_untouched():
    st = os.stat("/etc/shadow")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0
    assert st.st_gid == grp.getgrnam("shadow").gr_gid
    assert Path(f"{W}/config/secrets.env").read_text() == "DB_PASSWORD=hunter2\n"
