"""Terminal-Bench-compatible tasks: loading (with clear errors), image building, grading.

A task is a folder with an instruction (task.yaml `instruction`, or instruction.md), metadata
(task.yaml or task.toml: category, difficulty, tags, agent/verifier timeouts), an environment
(Dockerfile in the subset the sandbox image builder supports, plus what it COPYs; `environment/`
subfolder accepted), tests (tests/test_outputs.py run by run-tests.sh, or tests/test.sh), and a
reference solution (solution.sh or solution/solve.sh). Tests reach the sandbox only at grading time.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DOMAINS = ["data-processing", "games", "debugging", "system-administration", "scientific-computing",
           "software-engineering", "machine-learning", "security"]
BUILTIN = Path(__file__).parent / "tasks" / "builtin"
_ALIASES = {"data-science": "data-processing", "data_processing": "data-processing", "sysadmin": "system-administration",
            "system-admin": "system-administration", "ml": "machine-learning", "swe": "software-engineering",
            "scientific": "scientific-computing", "game": "games"}


class TaskError(ValueError):
    """A broken task folder: the message names the file and the problem."""

    path: Path | None = None  # the task folder (or instance file), when known


@dataclass
class Task:
    id: str
    path: Path
    instruction: str
    domain: str
    difficulty: str
    tags: list[str]
    agent_timeout: float
    test_timeout: float
    dockerfile: Path | None
    context: Path
    tests_dir: Path
    test_command: str  # run inside the sandbox after tests/ is copied to /tests
    solution: Path | None
    meta: dict[str, Any] = field(default_factory=dict)
    # task.toml [environment] and friends (None: not given, ALE's defaults apply)
    cpus: float | None = None
    memory_mb: int | None = None
    storage_mb: int | None = None  # the sandbox's disk, not memory
    gpus: int = 0
    allow_internet: bool | None = None
    # NetworkPolicy per phase ("build", "agent", "verifier"), from task.toml's network_mode/allowed_hosts
    # (schema 1.1, per phase) or allow_internet; tasks without them get no network anywhere
    network: dict[str, Any] = field(default_factory=dict)
    build_timeout: float | None = None
    env: dict[str, str] = field(default_factory=dict)  # for the agent's sandbox
    verifier_env: dict[str, str] = field(default_factory=dict)
    solution_env: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None  # Harbor's HealthcheckConfig fields
    # Harbor's tasks grade services the agent started (a server on a port): the verifier runs beside
    # the agent's processes there; other tasks start the verifier with none of them alive.
    keep_agent_processes: bool = False

    def content_hash(self) -> str:
        """Hash of everything that defines the environment (for image caching)."""
        h = hashlib.sha256()
        if self.dockerfile:
            h.update(self.dockerfile.read_bytes())
            for p in sorted(self.context.rglob("*")):
                if p.is_file() and "tests" not in p.relative_to(self.context).parts[:1] and p.name not in (
                        "solution.sh",):
                    h.update(str(p.relative_to(self.context)).encode())
                    h.update(p.read_bytes())
        return h.hexdigest()[:16]


# task.toml (Harbor's task schema 1.x) keys ALE reads; anything else is warned about once per key.
_TOML_KNOWN = {
    "": {"schema_version", "artifacts", "task", "metadata", "verifier", "agent", "environment", "solution", "source"},
    "verifier": {"timeout_sec", "env", "network_mode", "allowed_hosts", "user"},
    "agent": {"timeout_sec", "network_mode", "allowed_hosts", "user"},
    "environment": {"build_timeout_sec", "docker_image", "cpus", "memory_mb", "storage_mb", "gpus", "allow_internet",
                    "env", "healthcheck", "mcp_servers", "network_mode", "allowed_hosts", "workdir", "os"},
    "solution": {"env"},
}
_warned: set[str] = set()


def _warn_unknown(f: Path, data: dict[str, Any]) -> None:
    import sys

    for table, known in _TOML_KNOWN.items():
        part = data.get(table, {}) if table else data
        for key in part if isinstance(part, dict) else ():
            name = f"{table}.{key}" if table else key
            if key not in known and name not in _warned:
                _warned.add(name)
                print(f"warning: {f}: task.toml key `{name}` is not supported by ALE and is ignored "
                      "(warned once per key)", file=sys.stderr)


_TEMPLATE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?\}")


def resolve_env(env: dict[str, Any], where: str) -> dict[str, str]:
    """Harbor's env templating: a value `${VAR}` or `${VAR:-default}` takes the host's VAR (or the
    default); any other value is literal. A missing VAR without default is a TaskError."""
    import os

    out = {}
    for k, v in (env or {}).items():
        v = str(v)
        m = _TEMPLATE.fullmatch(v)
        if m:
            if m.group(1) in os.environ:
                v = os.environ[m.group(1)]
            elif m.group(2) is not None:
                v = m.group(2)
            else:
                raise TaskError(f"{where}: env {k} = {v!r}: the host has no {m.group(1)} and no default is given")
        out[str(k)] = v
    return out


def _read_meta(path: Path) -> dict[str, Any]:
    for name in ("task.yaml", "task.yml"):
        f = path / name
        if f.exists():
            try:
                data = yaml.safe_load(f.read_text())
            except yaml.YAMLError as e:
                raise TaskError(f"{f}: invalid YAML: {e}") from None
            if not isinstance(data, dict):
                raise TaskError(f"{f}: expected a mapping at the top level")
            return data
    f = path / "task.toml"
    if f.exists():
        try:
            data = tomllib.loads(f.read_text())
        except tomllib.TOMLDecodeError as e:
            raise TaskError(f"{f}: invalid TOML: {e}") from None
        _warn_unknown(f, data)
        flat = {**data.get("metadata", {}), **{k: v for k, v in data.items() if not isinstance(v, dict)}}
        if "agent" in data:
            flat["max_agent_timeout_sec"] = data["agent"].get("timeout_sec")
        if "verifier" in data:
            flat["max_test_timeout_sec"] = data["verifier"].get("timeout_sec")
        flat["_toml"] = data
        return flat
    raise TaskError(f"{path}: no task.yaml or task.toml")


def load_task(path: str | Path) -> Task:
    path = Path(path).resolve()
    if not path.is_dir():
        raise TaskError(f"{path}: not a task folder")
    meta = _read_meta(path)
    instruction = meta.get("instruction")
    if not instruction and (path / "instruction.md").exists():
        instruction = (path / "instruction.md").read_text()
    if not isinstance(instruction, str) or not instruction.strip():
        raise TaskError(f"{path}/task.yaml: missing `instruction` (or instruction.md)")
    domain = str(meta.get("category", "")).strip().lower()
    domain = _ALIASES.get(domain, domain)
    difficulty = str(meta.get("difficulty", "medium")).lower()
    if difficulty not in ("easy", "medium", "hard"):
        raise TaskError(f"{path}/task.yaml: difficulty must be easy, medium or hard, not {difficulty!r}")
    env_dir = path / "environment" if (path / "environment" / "Dockerfile").exists() else path
    dockerfile = env_dir / "Dockerfile" if (env_dir / "Dockerfile").exists() else None
    tests_dir = path / "tests"
    if not tests_dir.is_dir():
        raise TaskError(f"{path}: no tests/ folder")
    if (path / "run-tests.sh").exists():
        test_command = "bash /tests/run-tests.sh"
    elif (tests_dir / "test.sh").exists():
        test_command = "bash /tests/test.sh"
    elif (tests_dir / "test_outputs.py").exists():
        test_command = "python3 -m pytest /tests/test_outputs.py -rA -p no:cacheprovider"
    else:
        raise TaskError(f"{path}: no run-tests.sh, tests/test.sh or tests/test_outputs.py")
    solution = next((p for p in (path / "solution.sh", path / "solution" / "solve.sh") if p.exists()), None)
    try:
        agent_timeout = float(meta.get("max_agent_timeout_sec") or 600)
        test_timeout = float(meta.get("max_test_timeout_sec") or 120)
    except (TypeError, ValueError):
        raise TaskError(f"{path}/task.yaml: timeouts must be numbers") from None
    tags = meta.get("tags") or []
    if not isinstance(tags, list):
        raise TaskError(f"{path}/task.yaml: tags must be a list")
    if dockerfile is not None:
        from ale.sandbox.images import copy_sources, parse_dockerfile
        from ale.sandbox.spec import SandboxError

        try:
            for ins in parse_dockerfile(dockerfile.read_text(), str(dockerfile)):
                if ins.op == "COPY":  # a missing source would only show at build time otherwise
                    copy_sources(env_dir, ins.args, ins.line)
        except SandboxError as e:
            msg = e.message
            raise TaskError(str(dockerfile) + msg[len("Dockerfile"):] if msg.startswith("Dockerfile:") else msg) from None
    toml = meta.pop("_toml", None)
    extra = _toml_fields(path / "task.toml", toml) if toml is not None else {}
    return Task(id=path.name, path=path, instruction=instruction.strip(), domain=domain or "uncategorized",
                difficulty=difficulty, tags=[str(t) for t in tags], agent_timeout=agent_timeout,
                test_timeout=test_timeout, dockerfile=dockerfile, context=env_dir, tests_dir=tests_dir,
                test_command=test_command, solution=solution,
                meta={k: v for k, v in meta.items() if k not in ("instruction",)}, **extra)


def _networks(f: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Harbor's network settings: [environment] network_mode/allowed_hosts (or the older allow_internet)
    is the baseline, for the image build too; [agent] and [verifier] may each override it."""
    from ale.sandbox.spec import harbor_network

    env = data.get("environment") or {}
    try:
        base = harbor_network(network_mode=env.get("network_mode"), allow_internet=env.get("allow_internet"),
                              allowed_hosts=env.get("allowed_hosts"))
        out = {"build": base}
        for phase in ("agent", "verifier"):
            p = data.get(phase) or {}
            out[phase] = (harbor_network(network_mode=p.get("network_mode"), allowed_hosts=p.get("allowed_hosts"))
                          if p.get("network_mode") is not None or p.get("allowed_hosts") else base)
    except ValueError as e:
        raise TaskError(f"{f}: {e}") from None
    return out


def network_of(task: Task, phase: str):
    """The task's NetworkPolicy for "build", "agent" or "verifier" (none when the task sets none)."""
    from ale.sandbox.spec import NetworkPolicy

    return task.network.get(phase) or NetworkPolicy()


def _toml_fields(f: Path, data: dict[str, Any]) -> dict[str, Any]:
    env = data.get("environment") or {}
    out: dict[str, Any] = {"keep_agent_processes": True}
    try:
        for key, conv in (("cpus", float), ("memory_mb", int), ("storage_mb", int), ("build_timeout_sec", float)):
            if env.get(key) is not None:
                v = conv(env[key])
                if v <= 0:
                    raise ValueError
                out["build_timeout" if key == "build_timeout_sec" else key] = v
        out["gpus"] = int(env.get("gpus") or 0)
    except (TypeError, ValueError):
        raise TaskError(f"{f}: [environment] cpus, memory_mb, storage_mb, build_timeout_sec must be positive "
                        "numbers and gpus a count") from None
    if env.get("allow_internet") is not None:
        if not isinstance(env["allow_internet"], bool):
            raise TaskError(f"{f}: [environment] allow_internet must be true or false")
        out["allow_internet"] = env["allow_internet"]
    out["network"] = _networks(f, data)
    out["env"] = resolve_env(env.get("env") or {}, f"{f} [environment.env]")
    out["verifier_env"] = resolve_env((data.get("verifier") or {}).get("env") or {}, f"{f} [verifier.env]")
    out["solution_env"] = resolve_env((data.get("solution") or {}).get("env") or {}, f"{f} [solution.env]")
    hc = env.get("healthcheck")
    if hc is not None:
        if not isinstance(hc, dict) or not isinstance(hc.get("command"), str):
            raise TaskError(f"{f}: [environment.healthcheck] needs a `command` string")
        out["healthcheck"] = {"command": hc["command"], "interval_sec": float(hc.get("interval_sec", 5.0)),
                              "timeout_sec": float(hc.get("timeout_sec", 30.0)),
                              "start_period_sec": float(hc.get("start_period_sec", 0.0)),
                              "retries": int(hc.get("retries", 3))}
    return out


def load_tasks(spec: str | Path, errors: list[TaskError] | None = None) -> list[Task]:
    """'builtin', a folder of task folders, one task folder, or SWE-style instances (an instance .json
    file, or a folder of them; see ale.bench.swe). With `errors` given, broken task folders are
    collected there instead of raising on the first one."""
    root = BUILTIN if str(spec) == "builtin" else Path(spec)
    if root.is_file() and root.suffix == ".json":
        from ale.bench.swe import load_instances

        return load_instances([root], errors)
    if not root.is_dir():
        raise TaskError(f"{root}: no such folder (use a task folder, a folder of tasks, 'builtin', or SWE instance .json)")
    if any((root / n).exists() for n in ("task.yaml", "task.yml", "task.toml")):
        return [load_task(root)]
    instances = sorted(root.glob("*.json"))
    if instances and not any(p.is_dir() and (p / "task.yaml").exists() for p in root.iterdir()):
        from ale.bench.swe import load_instances

        return load_instances(instances, errors)
    tasks = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith((".", "_")):
            continue
        try:
            tasks.append(load_task(p))
        except TaskError as e:
            if errors is None:
                raise
            e.path = p
            errors.append(e)
    if not tasks and not errors:
        raise TaskError(f"{root}: no task folders inside")
    return tasks


@dataclass
class Grade:
    reward: float  # 1.0 iff every test passed
    passed: bool
    n_tests: int
    n_passed: int
    exit_code: int | None
    output: str
    timed_out: bool = False
    error: str | None = None  # the verifier did not produce a verdict (timeout, no reward file, no test ran)

    @property
    def fraction(self) -> float:
        return self.n_passed / self.n_tests if self.n_tests else 0.0

    @property
    def outcome(self) -> str:
        return "error" if self.error else "passed" if self.passed else "failed"


_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|XFAIL|SKIPPED)\s", re.M)


def parse_pytest(output: str) -> tuple[int, int]:
    """(n_tests, n_passed) from pytest -rA short summary lines."""
    kinds = _RESULT.findall(output)
    n = sum(k in ("PASSED", "FAILED", "ERROR", "XPASS") for k in kinds)
    return n, sum(k == "PASSED" for k in kinds)


def image_name(task: Task) -> str:
    return f"task-{re.sub(r'[^a-z0-9._-]', '-', task.id.lower())}:{task.content_hash()}"


async def ensure_image(manager, task: Task, log=lambda s: None) -> str:
    """Build (or reuse) the task's image with the sandbox image builder; returns its name."""
    if task.dockerfile is None:
        return "base"
    name = image_name(task)
    # rebuilt when the base image's digest or any context file changed, not only the task's files
    # RUN steps reach the network only as the task's build policy says (egress through user-mode networking)
    net = network_of(task, "build")
    await manager.build_image(name, task.dockerfile, task.context, log=log, rebuild_changed=True,
                              network=net.mode if not net.allow else net)
    return name


async def grade(manager, sandbox_id: str, task: Task) -> Grade:
    """Copy tests/ to /tests (only now: the agent never saw them), run them, score.

    The verifier starts from a state the agent cannot have touched: every process the agent left is
    killed first (daemons included), and /tests, /logs/verifier and the verifier kit's folders are
    removed from the host side before the tests (and the kit `ale bench prepare` made, if any) go in.
    A reward file counts only when the verifier wrote it and did not time out. pytest looks for
    conftest.py no higher than /tests (one planted at / could rewrite outcomes).

    No verdict is an error, never a failure: the verifier timed out, or (Harbor tasks) wrote no reward
    file or a failing one without running any test, or (pytest-run tests/) ran no test. Older tasks'
    test.sh without a reward file are judged by their exit code, as before."""
    from ale.sandbox.client import tar_of

    if not task.keep_agent_processes:
        await manager.kill_processes(sandbox_id)
    for path in ("/tests", "/logs/verifier"):
        await manager.remove(sandbox_id, path)
    env = {"TEST_DIR": "/tests", "PYTEST_ADDOPTS": "--confcutdir=/tests", **task.verifier_env,
           **await verifier_setup(manager, sandbox_id, task, network_of(task, "verifier").mode == "none")}
    await manager.upload_tar(sandbox_id, "/tests", tar_of(task.tests_dir))
    if (task.path / "run-tests.sh").exists():
        await manager.write_file(sandbox_id, "/tests/run-tests.sh", (task.path / "run-tests.sh").read_bytes(), 0o755)
    r = await manager.execute(sandbox_id, ["bash", "-c", f"mkdir -p /logs/verifier; {task.test_command}"],
                              timeout=task.test_timeout, env=env, cwd=None)
    out = r.stdout + r.stderr
    n, n_passed = parse_pytest(out)
    error = None
    if task.test_command == "bash /tests/test.sh":  # Terminal-Bench style: a reward file decides
        try:
            reward = float((await manager.read_file(sandbox_id, "/logs/verifier/reward.txt")).strip())
        except Exception:
            reward = None
        if reward is not None:
            # and the verifier's own pytest summary agrees: a process the agent left alive (Harbor tasks keep
            # them) may have rewritten the reward file after the verifier wrote it
            passed = reward >= 1.0 and n_passed == n
            if task.keep_agent_processes and not passed and n == 0:  # e.g. `uvx: command not found`
                error = "the verifier ran no test"
        elif task.keep_agent_processes:  # Harbor's contract: the verifier writes the reward
            passed = False
            error = f"the verifier wrote no reward file (/logs/verifier/reward.txt; exit code {r.exit_code})"
        else:  # older tasks' test.sh: the exit code decides
            passed = r.exit_code == 0 and n_passed == n
    else:  # a pytest run of tests/
        passed = r.exit_code == 0 and n > 0 and n_passed == n
        if n == 0:
            error = "the verifier ran no test (0 tests collected or pytest never started)"
    if r.timed_out:
        error = f"the verifier timed out after {task.test_timeout:g}s"
    if error:
        passed = False
        tail = (out.strip().splitlines() or [""])[-1][:300]
        error += f"; last output: {tail}" if tail else ""
    return Grade(reward=1.0 if passed else 0.0, passed=passed, n_tests=n, n_passed=n_passed, exit_code=r.exit_code,
                 output=out[-20000:], timed_out=r.timed_out, error=error)


async def verifier_setup(manager, sandbox_id: str, task: Task, cut_network: bool) -> dict[str, str]:
    """The verifier's network and `ale bench prepare` kit, set up in the agent's sandbox before the tests go
    in (by grade() and by the Harbor environment, ale.bench.harbor_env). The kit's paths are cleared from
    the host side first (an agent could have planted its own uvx); the network is cut when a kit exists (a
    prepared verifier downloads nothing) or the task gives the verifier none; the kit is unpacked. Returns
    the verifier's environment additions (none without a kit)."""
    from ale.bench.prepare import KIT, manifest, verifier_kit

    for path in (KIT, "/root/.local/bin/uv", "/root/.local/bin/uvx", "/root/.local/bin/env"):
        await manager.remove(sandbox_id, path)
    kit = manifest(task, manager.images.home)
    if kit or cut_network:
        await take_offline(manager, sandbox_id)
    if not kit:
        return {}
    has_py = bool(kit.get("python")) and await _exists(manager, sandbox_id, f"/opt/ale/python{kit['python']}/usr/bin")
    data, kit_env = verifier_kit(kit, manager.images.home, has_py)
    await manager.upload_tar(sandbox_id, "/", data)
    path = (await manager.execute(sandbox_id, ["sh", "-c", "printf %s \"$PATH\""], timeout=30)).stdout
    return {**kit_env, "PATH": f"{path}:{KIT}/bin"}


async def take_offline(manager, sandbox_id: str) -> None:
    """Cut a running sandbox's network (the verifier phase of a task whose agent had egress): its user-mode
    networking is stopped and every link but loopback set down, so connections fail at once (no
    waiting on a gateway nobody serves). A sandbox on the host's network cannot be cut: error."""
    import asyncio
    import subprocess

    from ale.sandbox.spec import SandboxError

    sb = manager._running(sandbox_id)
    mode = sb.spec.network.mode
    if mode == "none":
        return
    if mode == "host":
        raise SandboxError("the verifier cannot run offline in a sandbox on the host's network")
    if getattr(sb, "egress", None) is not None:
        await asyncio.to_thread(sb.egress.close)
        sb.egress = None
    ns = ["nsenter", "-t", str(sb.init.init_pid), "-n"]
    links = subprocess.run([*ns, "ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name != "lo":
            subprocess.run([*ns, "ip", "link", "set", name, "down"], capture_output=True, check=True)


async def _exists(manager, sandbox_id: str, path: str) -> bool:
    try:
        await manager.list_files(sandbox_id, path)
        return True
    except Exception:
        return False
