import grp
import os
import pwd
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path

CRON_D = Path("/etc/cron.d")
NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
         "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def field(spec, lo, hi):
    out = set()
    for part in spec.lower().split(","):
        rng, _, step = part.partition("/")
        step = int(step) if step else 1
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            a, b = (int(NAMES.get(x, x)) for x in rng.split("-"))
        else:
            a = int(NAMES.get(rng, rng))
            b = hi if step > 1 else a
        out.update(range(a, b + 1, step))
    return out, spec == "*"


def fires(fields, t):
    (mi, _), (h, _), (dom, dom_star), (mon, _), (dow, dow_star) = fields
    dow = {d % 7 for d in dow}
    wd = (t.weekday() + 1) % 7
    if dom_star or dow_star:
        day = t.day in dom and wd in dow
    else:
        day = t.day in dom or wd in dow
    return t.minute in mi and t.hour in h and t.month in mon and day


def jobs():
    found = {}
    for f in CRON_D.iterdir():
        if not f.is_file():
            continue
        for line in f.read_text().splitlines():
            s = line.strip()
            if not s or s.startswith("#") or re.match(r"^[A-Za-z_]+=", s):
                continue
            parts = s.split(None, 6)
            found.setdefault(parts[-1], []).append((f, parts))
    return found


def schedule(parts):
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    fields = [field(p, *r) for p, r in zip(parts[:5], ranges)]
    t, end, hits = datetime(2024, 1, 1), datetime(2024, 3, 1), []
    while t < end:
        if fires(fields, t):
            hits.append(t)
        t += timedelta(minutes=1)
    return hits


def the_file():
    j = jobs()
    files = {e[0] for cmd, v in j.items() if cmd.startswith("/opt/app/") for e in v}
    assert len(files) == 1, files
    return files.pop()


def test_single_valid_file():
    f = the_file()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", f.name), f"cron ignores {f.name}"
    st = f.stat()
    assert st.st_uid == 0
    assert not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    text = f.read_text()
    assert "SHELL=/bin/bash" in text and "PATH=" in text


def expect(cmd, user, pred):
    entries = jobs().get(cmd)
    assert entries and len(entries) == 1, cmd
    parts = entries[0][1]
    assert len(parts) == 7 and parts[5] == user, parts
    hits = schedule(parts)
    t, exp = datetime(2024, 1, 1), []
    while t < datetime(2024, 3, 1):
        if pred(t):
            exp.append(t)
        t += timedelta(minutes=1)
    assert hits == exp, cmd


def test_backup():
    expect("/opt/app/bin/backup.sh", "backup", lambda t: (t.hour, t.minute) == (2, 30))


def test_cleanup():
    expect("/opt/app/bin/cleanup.sh", "root", lambda t: t.minute % 15 == 0)


def test_report():
    expect("/opt/app/bin/report.sh", "app", lambda t: (t.hour, t.minute) == (8, 0) and t.weekday() < 5)


def test_rotate():
    expect("/opt/app/bin/rotate.sh", "root", lambda t: (t.day, t.hour, t.minute) == (1, 0, 5))


def can(path, user, bits):
    """Whether user may read+execute path according to its mode bits (root bypass not applied)."""
    pw = pwd.getpwnam(user)
    st = os.stat(path)
    groups = {g.gr_gid for g in grp.getgrall() if user in g.gr_mem} | {pw.pw_gid}
    if st.st_uid == pw.pw_uid:
        need = bits["u"]
    elif st.st_gid in groups:
        need = bits["g"]
    else:
        need = bits["o"]
    return st.st_mode & need == need


def test_scripts_executable():
    rx = {"u": stat.S_IRUSR | stat.S_IXUSR, "g": stat.S_IRGRP | stat.S_IXGRP, "o": stat.S_IROTH | stat.S_IXOTH}
    for s, user in [("backup", "backup"), ("cleanup", "root"), ("report", "app"), ("rotate", "root")]:
        path = f"/opt/app/bin/{s}.sh"
        if user == "root":
            assert os.stat(path).st_mode & 0o111, path
        else:
            assert can(path, user, rx), path
