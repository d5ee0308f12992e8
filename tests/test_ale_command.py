"""The `ale` command itself: parts load lazily, so `ale --help` and `ale sandbox run` stay fast (issue 16
item 11; figures in docs/benchmarks.md from benchmarks/cli.py). Checked by what gets imported, which
unlike a timing does not depend on the machine's load."""
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ale.cli import LAZY

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
sys.argv = ["ale", *json.loads(sys.argv[1])]
from ale.cli import app
try:
    app()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.startswith(("ale.", "rich", "torch", "transformers")))}), file=sys.stderr)
"""


def imported_by(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=120,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(r.stderr.strip().splitlines()[-1])


def test_help_imports_no_part():
    got = imported_by("--help")
    assert got["code"] == 0 and got["modules"] == ["ale.cli"]


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
def test_sandbox_run_imports_only_the_sandbox():
    got = imported_by("sandbox", "run", "--", "true")
    assert got["code"] == 0
    assert not [m for m in got["modules"] if m.startswith(("ale.agent", "ale.bench", "ale.train", "rich", "torch"))]


def test_lazy_help_lines_are_the_parts_own():
    for name, (module, attr, line) in LAZY.items():
        assert getattr(importlib.import_module(module), attr).info.help == line, name
