import json
import os


def test_iocs():
    iocs = json.load(open("/app/iocs.json"))
    assert iocs["url"] == "http://update.cdn-metrics.example:8443/v2/beacon?id=7f3a"
    assert iocs["dropped_file"] == "/var/tmp/.cache/kworkerd"
    assert iocs["cron_line"] == "*/7 * * * * root /var/tmp/.cache/kworkerd >/dev/null 2>&1"


def test_stage3_decoded():
    src = open("/app/stage3.py").read()
    compile(src, "stage3.py", "exec")  # real Python source, not an encoded blob
    assert "urllib.request.urlopen" in src and "bytes.fromhex" in src


def test_payload_never_ran():
    assert not os.path.exists("/var/tmp/.payload_ran")
    assert not os.path.exists("/var/tmp/.cache/kworkerd")
    if os.path.exists("/etc/crontab"):
        assert "kworkerd" not in open("/etc/crontab").read()


def test_sample_preserved():
    src = open("/app/incident/suspicious.sh").read()
    assert src.startswith("#!/bin/bash") and 'eval "$(echo "$_x" | base64 -d | gunzip)"' in src
