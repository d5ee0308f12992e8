"""Terminal-Bench 2 support without sandboxes: stand-in recipes, task.toml, what `ale bench prepare` reads
from tests/ and the kit it ships to the verifier, and the grading summary (errors apart, Avg@k).
The task folders here are written by the tests (the shape of TB2's, none of its files)."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from ale.bench.evaluate import summarize, task_record
from ale.bench.prepare import KIT, needs, verifier_kit
from ale.bench.task import TaskError, load_task
from ale.sandbox import standins
from ale.sandbox.images import Image, ImageConfig, ImageStore
from ale.sandbox.spec import SandboxError

TEST_SH = """#!/bin/bash
apt-get update
apt-get install -y curl primer3
curl -LsSf https://astral.sh/uv/0.9.5/install.sh | sh
source $HOME/.local/bin/env
uvx \\
  -p 3.13 \\
  -w pytest==8.4.1 \\
  -w rdflib==7.1.4 \\
  pytest /tests/test_outputs.py -rA
if [ $? -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
"""


def toml_task(tmp_path: Path, environment: str = "", extra: str = "", test_sh: str = TEST_SH,
              base: str = "ubuntu:24.04") -> Path:
    d = tmp_path / "t1"
    (d / "tests").mkdir(parents=True)
    (d / "environment").mkdir()
    (d / "environment" / "Dockerfile").write_text(f"FROM {base}\nWORKDIR /app\n")
    (d / "instruction.md").write_text("Do the thing.\n")
    (d / "tests" / "test.sh").write_text(test_sh)
    (d / "tests" / "test_outputs.py").write_text("def test_x():\n    pass\n")
    (d / "task.toml").write_text(f'schema_version = "1.1"\n[metadata]\ncategory = "file-operations"\n'
                                 f'[verifier]\ntimeout_sec = 30.0\n[agent]\ntimeout_sec = 45.0\n'
                                 f'[environment]\n{environment}\n{extra}')
    return d


# ---- stand-ins
def test_standin_recipes_and_their_deviations():
    r = standins.recipe("python:3.13-slim-bookworm")
    assert r.python == "3.13" and not any("instead of 3.13" in d for d in r.deviations)
    r = standins.recipe("python:3.12-slim")  # no Debian ships 3.12: the nearest, said so
    assert r.python in ("3.11", "3.13") and any("instead of 3.12" in d for d in r.deviations)
    assert any("names no release" in d for d in r.deviations)
    u = standins.recipe("ubuntu:24.04")
    assert u.python is None and any("instead of Ubuntu 24.04" in d for d in u.deviations)
    with pytest.raises(SandboxError, match="no stand-in recipe for 'alpine:3'"):
        standins.recipe("alpine:3")


def test_standin_dockerfile_puts_python_where_the_official_images_do():
    text = standins.dockerfile(standins.recipe("python:3.13-slim-bookworm"), "pip-1.whl")
    assert text.startswith("FROM base\n") and "COPY python3.13 /opt/ale/python3.13" in text
    assert "/usr/local/bin/python3.13" in text and "WORKDIR /\n" in text
    assert standins.dockerfile(standins.recipe("debian:bookworm")) == "FROM base\nWORKDIR /\n"


def test_standin_record_is_dropped_when_the_name_holds_another_image(tmp_path):
    store = ImageStore(tmp_path)
    store.save(Image("ubuntu:24.04", ["l1"], ImageConfig()))
    path = standins._record_path(tmp_path, "ubuntu:24.04")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "ubuntu:24.04", "layers": ["l1"], "deviations": ["d"]}))
    assert standins.record(store, "ubuntu:24.04")["deviations"] == ["d"]
    store.save(Image("ubuntu:24.04", ["pulled"], ImageConfig()))  # e.g. a real pull replaced it
    assert standins.record(store, "ubuntu:24.04") is None


# ---- task.toml
def test_task_toml_resources_timeouts_env_and_category(tmp_path, monkeypatch):
    monkeypatch.setenv("ALE_TEST_TOKEN", "s3cret")
    d = toml_task(tmp_path, 'cpus = 2\nmemory_mb = 3072\nstorage_mb = 10240\ngpus = 0\nallow_internet = true\n',
                  '[environment.env]\nA = "${ALE_TEST_TOKEN}"\nB = "${ALE_NOT_SET_ANYWHERE:-dflt}"\nC = "plain"\n'
                  '[verifier.env]\nV = "1"\n[solution.env]\nS = "2"\n'
                  '[environment.healthcheck]\ncommand = "true"\nretries = 2\n')
    t = load_task(d)
    assert (t.agent_timeout, t.test_timeout) == (45.0, 30.0)
    assert (t.cpus, t.memory_mb, t.storage_mb, t.gpus, t.allow_internet) == (2.0, 3072, 10240, 0, True)
    assert t.env == {"A": "s3cret", "B": "dflt", "C": "plain"}
    assert t.verifier_env == {"V": "1"} and t.solution_env == {"S": "2"}
    assert t.healthcheck["command"] == "true" and t.healthcheck["retries"] == 2
    assert t.domain == "file-operations"  # free-form for external tasks
    assert t.keep_agent_processes


def test_task_toml_missing_template_variable_and_bad_values(tmp_path):
    with pytest.raises(TaskError, match="no ALE_NOT_SET_ANYWHERE and no default"):
        load_task(toml_task(tmp_path, "", '[environment.env]\nA = "${ALE_NOT_SET_ANYWHERE}"\n'))
    with pytest.raises(TaskError, match="positive numbers"):
        load_task(toml_task(tmp_path / "b", "memory_mb = -1\n"))


def test_task_toml_unknown_keys_warned_once(tmp_path, capsys):
    from ale.bench import task as task_mod

    task_mod._warned.discard("environment.frobnicate")
    load_task(toml_task(tmp_path, "frobnicate = 1\n"))
    load_task(toml_task(tmp_path / "again", "frobnicate = 1\n"))
    err = capsys.readouterr().err
    assert err.count("`environment.frobnicate` is not supported") == 1


# ---- prepare: what the verifier fetches, and the kit it gets instead
def test_needs_reads_uv_python_pins_and_apt_packages(tmp_path):
    t = load_task(toml_task(tmp_path))
    n = needs(t)
    assert (n.uv, n.python) == ("0.9.5", "3.13")
    assert n.pins == ["pytest==8.4.1", "rdflib==7.1.4"]
    assert n.apt == ["curl", "primer3"]


def test_verifier_kit_layout_and_environment(tmp_path):
    root = tmp_path / "bench" / "verifier"
    (root / "tools" / "uv-0.9.5").mkdir(parents=True)
    for b in ("uv", "uvx"):
        (root / "tools" / "uv-0.9.5" / b).write_text("#!/bin/sh\n")
    (root / "wheels").mkdir()
    (root / "wheels" / "pytest-8.4.1-py3-none-any.whl").write_bytes(b"w")
    (root / "apt").mkdir()
    (root / "apt" / "primer3_1_all.deb").write_bytes(b"d")
    (root / "apt" / "Packages").write_text("")
    kit = {"uv": "0.9.5", "python": "3.13", "wheels": ["pytest-8.4.1-py3-none-any.whl"], "debs": ["primer3_1_all.deb"]}
    data, env = verifier_kit(kit, tmp_path, image_has_python=True)
    names = set(tarfile.open(fileobj=io.BytesIO(data)).getnames())
    assert {"root/.local/bin/uv", "root/.local/bin/uvx", "root/.local/bin/env",
            f"{KIT[1:]}/bin/python3.13", f"{KIT[1:]}/wheels/pytest-8.4.1-py3-none-any.whl",
            f"{KIT[1:]}/apt/primer3_1_all.deb", "etc/apt/sources.list.d/ale-verifier.list"} <= names
    assert not any(n.startswith("opt/ale/python3.13") for n in names)  # the image has it already
    assert env["UV_OFFLINE"] == "1" and env["UV_PYTHON_DOWNLOADS"] == "never"
    assert env["UV_FIND_LINKS"] == env["PIP_FIND_LINKS"] == f"{KIT}/wheels" and env["PIP_NO_INDEX"] == "1"


# ---- grading summary
def _attempt(**kw):
    rec = {"attempt": 0, "passed": False, "reward": 0.0, "failure": "tests_failed", "prompt_tokens": 0,
           "completion_tokens": 0, "wall_s": 1.0, "error": None}
    return {**rec, **kw}


def test_errors_are_counted_apart_and_out_of_the_pass_rate(tmp_path):
    t = load_task(toml_task(tmp_path))
    ok = task_record(t, "a", [_attempt(passed=True, reward=1.0, failure=None)])
    bad = task_record(t, "a", [_attempt()])
    err = task_record(t, "a", [_attempt(failure="verifier_error", error="the verifier wrote no reward file")])
    for r, tid in ((ok, "ok"), (bad, "bad"), (err, "err")):
        r["task_id"] = tid
    assert [r["outcome"] for r in (ok, bad, err)] == ["passed", "failed", "error"]
    assert err["message"] == "the verifier wrote no reward file"
    s = summarize([ok, bad, err], "a", 1, 1.0)
    assert (s["n_tasks"], s["n_passed"], s["n_errors"], s["n_failed"], s["pass_rate"]) == (2, 1, 1, 1, 0.5)
    s = summarize([ok, bad, err], "a", 1, 1.0, count_errors=True)
    assert (s["n_tasks"], s["pass_rate"]) == (3, pytest.approx(1 / 3))


def test_avg_at_k_averages_the_attempts_with_a_verdict(tmp_path):
    t = load_task(toml_task(tmp_path))
    r = task_record(t, "a", [_attempt(passed=True, reward=1.0, failure=None), _attempt(),
                             _attempt(failure="verifier_error", error="timeout")])
    assert r["reward"] == 0.5 and r["outcome"] == "failed" and not r["passed"] and r["any_passed"]
    assert [a["outcome"] for a in r["attempts"]] == ["passed", "failed", "error"]


def test_task_toml_network_per_phase(tmp_path):
    from ale.bench.task import network_of

    t = load_task(toml_task(tmp_path / "a", "allow_internet = true\n"))
    assert [network_of(t, p).mode for p in ("build", "agent", "verifier")] == ["egress"] * 3
    t = load_task(toml_task(tmp_path / "b", 'network_mode = "no-network"\nallow_internet = true\n'))
    assert [network_of(t, p).mode for p in ("build", "agent", "verifier")] == ["none"] * 3
    d = toml_task(tmp_path / "c", "allow_internet = true\n")
    (d / "task.toml").write_text((d / "task.toml").read_text().replace(
        "[verifier]\n", '[verifier]\nnetwork_mode = "no-network"\n'))
    t = load_task(d)
    assert (network_of(t, "agent").mode, network_of(t, "verifier").mode) == ("egress", "none")
    with pytest.raises(TaskError, match="unknown network_mode 'lan'"):
        load_task(toml_task(tmp_path / "d", 'network_mode = "lan"\n'))


def test_solutions_are_added_to_a_copy_not_the_task(tmp_path):
    from ale.bench.cli import _with_solutions

    d = toml_task(tmp_path / "tasks")
    sols = tmp_path / "sols" / d.name
    sols.mkdir(parents=True)
    (sols / "solve.sh").write_text("echo solved\n")
    before = sorted(p.relative_to(d) for p in d.rglob("*"))
    [t] = _with_solutions([load_task(d)], tmp_path / "sols")
    assert t.path != d and t.solution == t.path / "solution" / "solve.sh"
    assert t.solution.read_text() == "echo solved\n"
    assert sorted(p.relative_to(d) for p in d.rglob("*")) == before  # the task folder is untouched
