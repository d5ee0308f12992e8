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
        flat = {**data.get("metadata", {}), **{k: v for k, v in data.items() if not isinstance(v, dict)}}
        if "agent" in data:
            flat["max_agent_timeout_sec"] = data["agent"].get("timeout_sec")
        if "verifier" in data:
            flat["max_test_timeout_sec"] = data["verifier"].get("timeout_sec")
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
    return Task(id=path.name, path=path, instruction=instruction.strip(), domain=domain or "uncategorized",
                difficulty=difficulty, tags=[str(t) for t in tags], agent_timeout=agent_timeout,
                test_timeout=test_timeout, dockerfile=dockerfile, context=env_dir, tests_dir=tests_dir,
                test_command=test_command, solution=solution,
                meta={k: v for k, v in meta.items() if k not in ("instruction",)})


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

    @property
    def fraction(self) -> float:
        return self.n_passed / self.n_tests if self.n_tests else 0.0


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
    await manager.build_image(name, task.dockerfile, task.context, log=log, rebuild_changed=True)
    return name


async def grade(manager, sandbox_id: str, task: Task) -> Grade:
    """Copy tests/ to /tests (only now: the agent never saw them), run them, score.

    The verifier starts from a state the agent cannot have touched: every process the agent left is
    killed first (daemons included), and /tests and /logs/verifier are removed from the host side
    before the tests go in. A reward file counts only when the verifier wrote it and did not time out.
    pytest looks for conftest.py no higher than /tests (one planted at / could rewrite outcomes)."""
    from ale.sandbox.client import tar_of

    await manager.kill_processes(sandbox_id)
    for path in ("/tests", "/logs/verifier"):
        await manager.remove(sandbox_id, path)
    await manager.upload_tar(sandbox_id, "/tests", tar_of(task.tests_dir))
    if (task.path / "run-tests.sh").exists():
        await manager.write_file(sandbox_id, "/tests/run-tests.sh", (task.path / "run-tests.sh").read_bytes(), 0o755)
    r = await manager.execute(sandbox_id, ["bash", "-c", f"mkdir -p /logs/verifier; {task.test_command}"],
                              timeout=task.test_timeout, env={"TEST_DIR": "/tests", "PYTEST_ADDOPTS": "--confcutdir=/tests"},
                              cwd=None)
    out = r.stdout + r.stderr
    n, n_passed = parse_pytest(out)
    passed = r.exit_code == 0 and not r.timed_out and n_passed == n
    if task.test_command == "bash /tests/test.sh":  # Terminal-Bench 2 style: a reward file decides
        try:
            reward_txt = (await manager.read_file(sandbox_id, "/logs/verifier/reward.txt")).decode().strip()
            passed = float(reward_txt) >= 1.0 and not r.timed_out
        except Exception:  # no reward file: the exit code decides
            pass
    else:
        passed = passed and n > 0
    return Grade(reward=1.0 if passed else 0.0, passed=passed, n_tests=n, n_passed=n_passed, exit_code=r.exit_code,
                 output=out[-20000:], timed_out=r.timed_out)
