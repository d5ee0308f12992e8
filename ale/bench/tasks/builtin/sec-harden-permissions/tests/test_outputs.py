import grp
import os
import pwd
import stat

ROOT = "/srv/app"
CONTENT = {
    "config/db.env": "DB_HOST=db.internal\nDB_USER=shop\nDB_PASSWORD=9f8e7d6c5b4a\n",
    "config/app.ini": "log_level = info\nworkers = 4\n",
    "bin/start.sh": "#!/bin/bash\necho starting shop\n",
    "public/index.html": "<h1>Shop</h1>\n",
    "public/css/site.css": "body{margin:0}\n",
    "logs/app.log": "started\n",
}


def mode(rel):
    return stat.S_IMODE(os.lstat(os.path.join(ROOT, rel)).st_mode)


def walk():
    yield ROOT
    for d, dirs, files in os.walk(ROOT):
        for n in dirs + files:
            yield os.path.join(d, n)


def test_contents_intact():
    for rel, text in CONTENT.items():
        assert open(os.path.join(ROOT, rel)).read() == text
    assert "PRIVATE KEY" in open(os.path.join(ROOT, "keys/deploy_ed25519")).read()
    assert os.path.isfile(os.path.join(ROOT, "keys/deploy_ed25519.pub"))
    assert os.path.isfile(os.path.join(ROOT, "bin/backup.sh"))


def test_ownership():
    uid, gid = pwd.getpwnam("appsvc").pw_uid, grp.getgrnam("appsvc").gr_gid
    bad = [p for p in walk() if os.lstat(p).st_uid != uid or os.lstat(p).st_gid != gid]
    assert not bad, bad


def test_no_world_writable_or_setid():
    bad = [p for p in walk() if os.lstat(p).st_mode & (stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID)]
    assert not bad, bad


def test_secrets():
    assert mode("config") == 0o700 and mode("keys") == 0o700
    assert mode("config/db.env") == 0o600 and mode("config/app.ini") == 0o600
    assert mode("keys/deploy_ed25519") == 0o600
    assert mode("keys/deploy_ed25519.pub") == 0o644


def test_scripts_executable():
    assert mode("bin/start.sh") == 0o755 and mode("bin/backup.sh") == 0o755


def test_public_readable():
    assert mode("public") == 0o755 and mode("public/css") == 0o755
    assert mode("public/index.html") == 0o644 and mode("public/css/site.css") == 0o644


def test_logs_uploads():
    assert mode("logs") == 0o750 and mode("uploads") == 0o750
    assert mode("logs/app.log") == 0o640
