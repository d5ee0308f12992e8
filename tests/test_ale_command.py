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
from ale.cli import main
code = 0
try:
    main()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.startswith(("ale.", "rich", "torch", "transformers", "typer", "pydantic")))}), file=sys.stderr)
"""


def imported_by(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=120,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(r.stderr.strip().splitlines()[-1])


def test_help_imports_no_part_and_not_typer():
    got = imported_by("--help")
    assert got["code"] == 0 and got["modules"] == ["ale.cli"]


def test_fast_help_lists_what_the_typer_app_lists():
    import re

    from typer.testing import CliRunner

    from ale.cli import app, root_help

    typer_help = CliRunner().invoke(app, ["--help"], prog_name="ale", env={"COLUMNS": "80"}).stdout
    fast = root_help("ale")
    head, _, commands = fast.partition("Commands:\n")
    assert typer_help.startswith(head)  # usage, description, options: the same text
    shown = dict(re.findall(r"^  (\w+) +(.*)$", typer_help.split("Commands:\n")[1], re.M))
    ours = dict(re.findall(r"^  (\w+) +(.*(?:\n {9}.*)*)", commands, re.M))
    assert list(ours) == list(shown)  # the same commands, in the same order
    for name, line in shown.items():  # click cuts a line at ~45 characters: ours is whole
        assert " ".join(ours[name].split()).startswith(line.removesuffix("...")), name


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
def test_sandbox_run_imports_only_the_sandbox_and_not_typer_or_pydantic():
    got = imported_by("sandbox", "run", "--memory=256m", "-e", "A=1", "--", "sh", "-c", "test $A = 1")
    assert got["code"] == 0
    assert not [m for m in got["modules"] if m.startswith(("ale.agent", "ale.bench", "ale.train", "rich", "torch",
                                                           "typer", "pydantic"))]
    got = imported_by("sandbox", "run", "--", "sh", "-c", "exit 3")
    assert got["code"] == 3 and "typer" not in got["modules"]


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
@pytest.mark.parametrize("args,line", [
    (["--memory", "lots", "--", "true"], "error: --memory: not a size: 'lots' (use e.g. 512m, 1g, 65536)"),
    (["--cpus", "-1", "--", "true"], "error: --cpus: must be between 0.01 and 256, got -1"),
    (["--network", "bridge", "--", "true"], None),  # typer's own choice error (several lines, its usage)
    (["--image", "nosuch", "--", "true"], "error: no such image: nosuch (see `ale sandbox image ls`)"),
])
def test_sandbox_run_fast_path_leaves_bad_input_to_the_typer_command(args, line):
    r = subprocess.run([sys.executable, "-m", "ale.cli", "sandbox", "run", *args], capture_output=True, text=True,
                       timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in r.stderr and r.stdout == ""
    if line is None:
        assert r.returncode == 2 and "'bridge' is not one of 'none', 'egress', 'host'" in " ".join(r.stderr.split())
    else:
        assert r.stderr.strip() == line and r.returncode == (125 if "image" in line else 2)


def test_lazy_help_lines_are_the_parts_own():
    for name, (module, attr, line) in LAZY.items():
        assert getattr(importlib.import_module(module), attr).info.help == line, name
