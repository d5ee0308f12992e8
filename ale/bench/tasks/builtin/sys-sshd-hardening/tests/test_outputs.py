"""Evaluate sshd's effective configuration the way OpenSSH does: Include expands in place (glob
sorted), keywords are case-insensitive, the first value obtained wins, a Match block lasts until the
next Match or the end of the file it is in, and matching Match blocks override global values."""
import glob
import ipaddress
import os
import stat

ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}
DEFAULTS = {"port": "22", "permitrootlogin": "prohibit-password", "passwordauthentication": "yes",
            "kbdinteractiveauthentication": "yes", "pubkeyauthentication": "yes", "maxauthtries": "6",
            "x11forwarding": "no", "allowgroups": None, "usepam": "no", "printmotd": "yes"}


def load(path, depth=0):
    out, match = [], None
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
            if not line:
                continue
            kw, _, args = line.partition(" ")
            if "=" in kw:
                kw, _, rest = kw.partition("=")
                args = (rest + " " + args).strip()
            kw = ALIASES.get(kw.lower(), kw.lower())
            args = args.strip().lstrip("=").strip()
            if kw == "match":
                match = args
            elif kw == "include" and match is None:
                for pat in args.split():
                    if not pat.startswith("/"):
                        pat = "/etc/ssh/" + pat
                    for p in sorted(glob.glob(pat)):
                        out += load(p, depth + 1)
            else:
                out.append((kw, args, match))
    return out


def matches(crit, addr, user):
    toks = crit.split()
    for key, val in zip(toks[::2], toks[1::2]):
        k = key.lower()
        if k == "address":
            if not any(ipaddress.ip_address(addr) in ipaddress.ip_network(n, strict=False) for n in val.split(",")):
                return False
        elif k == "user":
            if user not in val.split(","):
                return False
        else:
            return False
    return crit.strip().lower() == "all" or bool(toks)


def effective(addr, user="alice"):
    lines = load("/etc/ssh/sshd_config")
    glob_vals, over = {}, {}
    for kw, args, match in lines:
        if match is None:
            glob_vals.setdefault(kw, args)
        elif matches(match, addr, user):
            over.setdefault(kw, args)
    res = dict(DEFAULTS)
    res.update(glob_vals)
    res.update(over)
    return {k: (v.lower() if isinstance(v, str) and k != "allowgroups" else v) for k, v in res.items()}


WANT = {"port": "2222", "permitrootlogin": "no", "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no", "pubkeyauthentication": "yes", "maxauthtries": "3",
        "x11forwarding": "no", "allowgroups": "sshusers", "usepam": "yes", "printmotd": "no"}


def test_external_client():
    eff = effective("203.0.113.50")
    for k, v in WANT.items():
        assert eff.get(k) == v, (k, eff.get(k))


def test_internal_client():
    eff = effective("10.20.30.40")
    for k, v in WANT.items():
        exp = "yes" if k == "passwordauthentication" else v
        assert eff.get(k) == exp, (k, eff.get(k))


def test_other_settings_kept():
    eff = effective("203.0.113.50")
    assert eff.get("subsystem", "").split() == ["sftp", "/usr/lib/openssh/sftp-server"]
    assert "lang" in eff.get("acceptenv", "").lower()


def test_neighbouring_network_is_external():
    assert effective("11.0.0.1")["passwordauthentication"] == "no"


def test_alice_keys():
    import pwd
    a = pwd.getpwnam("alice")
    d = os.stat("/home/alice/.ssh")
    k = os.stat("/home/alice/.ssh/authorized_keys")
    assert d.st_uid == a.pw_uid and stat.S_IMODE(d.st_mode) == 0o700
    assert k.st_uid == a.pw_uid and stat.S_IMODE(k.st_mode) == 0o600
    assert "alice@laptop" in open("/home/alice/.ssh/authorized_keys").read()
