import grp
import os
import pwd
import spwd
import stat
from pathlib import Path


def test_users():
    for name, uid in [("alice", 2001), ("bob", 2002)]:
        pw = pwd.getpwnam(name)
        assert pw.pw_uid == uid and pw.pw_gid == uid
        assert grp.getgrgid(uid).gr_name == name
        assert pw.pw_shell == "/bin/bash" and pw.pw_dir == f"/home/{name}"
        st = os.stat(pw.pw_dir)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == uid and st.st_gid == uid
        assert stat.S_IMODE(st.st_mode) == 0o750


def test_devs_membership():
    g = grp.getgrnam("devs")
    assert g.gr_gid == 2000
    assert set(g.gr_mem) == {"alice", "bob"}


def test_carol_locked_not_deleted():
    pw = pwd.getpwnam("carol")
    assert pw.pw_uid == 1500 and os.path.isdir("/home/carol")
    sp = spwd.getspnam("carol")
    assert sp.sp_pwdp.startswith("!"), "password not locked"
    assert len(sp.sp_pwdp) > 5, "locking must keep the hash (do not just blank it)"


def test_project_dir():
    st = os.stat("/srv/project")
    assert st.st_uid == 0 and st.st_gid == 2000
    assert stat.S_IMODE(st.st_mode) == 0o2770


def test_project_contents():
    seen = 0
    for root, dirs, files in os.walk("/srv/project"):
        for d in dirs:
            st = os.stat(os.path.join(root, d))
            assert st.st_gid == 2000 and stat.S_IMODE(st.st_mode) == 0o2770, d
        for f in files:
            st = os.stat(os.path.join(root, f))
            assert st.st_gid == 2000 and stat.S_IMODE(st.st_mode) == 0o660, f
            seen += 1
    assert seen >= 1
    assert Path("/srv/project/NOTES.txt").read_text() == "project notes\n"
