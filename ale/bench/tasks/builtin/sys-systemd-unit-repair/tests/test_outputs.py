import os
import re
from pathlib import Path

D = Path("/etc/systemd/system")


def parse(path):
    """systemd-style parse: {section: {key: [values in order]}}; comments and blanks skipped."""
    out, sec = {}, None
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            sec = out.setdefault(m.group(1), {})
            continue
        assert sec is not None, f"{path}: assignment outside a section: {line}"
        k, _, v = line.partition("=")
        sec.setdefault(k.strip(), []).append(v.strip())
    return out


def last(u, sec, key):
    vals = u.get(sec, {}).get(key)
    assert vals, f"missing {sec}.{key}"
    return vals[-1]


def words(u, sec, key):
    return {w for v in u.get(sec, {}).get(key, []) for w in v.split()}


def test_service_sections():
    u = parse(D / "inventory.service")
    assert set(u) == {"Unit", "Service", "Install"}
    assert last(u, "Unit", "Description") == "Inventory API server"


def test_service_exec():
    u = parse(D / "inventory.service")
    assert last(u, "Service", "ExecStart").split() == ["/opt/inventory/bin/inventory-server", "--port", "8080"]
    assert last(u, "Service", "Type") == "simple"
    assert last(u, "Service", "User") == "inventory"
    assert last(u, "Service", "Group") == "inventory"
    assert last(u, "Service", "WorkingDirectory") == "/opt/inventory"
    assert last(u, "Service", "EnvironmentFile").lstrip("-") == "/etc/inventory/env"


def test_service_restart_and_ordering():
    u = parse(D / "inventory.service")
    assert last(u, "Service", "Restart") == "on-failure"
    assert last(u, "Service", "RestartSec") in ("5", "5s")
    assert "network-online.target" in words(u, "Unit", "After")
    assert "network-online.target" in words(u, "Unit", "Wants")
    assert "multi-user.target" in words(u, "Install", "WantedBy")


def test_service_enabled():
    link = D / "multi-user.target.wants/inventory.service"
    assert link.is_symlink()
    assert os.path.realpath(link) == str(D / "inventory.service")


def test_timer():
    t = parse(D / "inventory-backup.timer")
    cal = last(t, "Timer", "OnCalendar")
    assert cal in ("*-*-* 03:15:00", "*-*-* 03:15", "03:15", "03:15:00", "*-*-* 3:15:00", "*-*-* 3:15"), cal
    assert last(t, "Timer", "Persistent").lower() in ("true", "yes", "1", "on")
    unit = t["Timer"].get("Unit", ["inventory-backup.service"])[-1]
    assert unit == "inventory-backup.service"
    assert "timers.target" in words(t, "Install", "WantedBy")
    link = D / "timers.target.wants/inventory-backup.timer"
    assert link.is_symlink() and os.path.realpath(link) == str(D / "inventory-backup.timer")


def test_backup_service_untouched():
    b = parse(D / "inventory-backup.service")
    assert last(b, "Service", "ExecStart") == "/opt/inventory/bin/backup"
