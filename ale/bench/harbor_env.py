"""ALE as a Harbor environment: Harbor (the Terminal-Bench harness, `harbor` on PyPI) runs its agents and
its own verifier on ALE sandboxes, with no Docker:

    harbor run -p TASKS -a oracle --env ale.bench.harbor_env:ALEEnvironment

(`--environment-import-path` is Harbor's older, deprecated spelling of `--env MODULE:CLASS`.) Needs
Python >= 3.12 (Harbor's floor) and root (ALE's sandbox engine runs embedded in Harbor's process):
scripts/setup-harbor.sh makes such a virtualenv. docs/bench.md, "Through Harbor", has the steps.

Kept from ALE's own runner (`ale bench run`): the image is built from the task's environment/Dockerfile
by ALE's builder (same cache, FROM names resolved through the local store, image map, registry pull or
stand-ins; RUN steps get the task's baseline network policy as Harbor reads it, public when the task
sets none), and the prebuilt `docker_image` is used only when the task
has no Dockerfile; the sandbox gets the task's cpus, memory_mb and storage_mb (as disk) as limits and
Harbor's network policy for the phase (public -> egress through user-mode networking, no-network ->
none, allowlist -> allowlist of host names or IP addresses); the offline verifier route: when `ale bench
prepare` provisioned the task, the moment Harbor's verifier copies tests/ into /tests the sandbox is
taken offline and the kit is unpacked (ale.bench.task.verifier_setup, as ALE's runner does), and the
commands after that get the kit's environment (PATH, uv/pip offline wheelhouse), so test.sh runs
unmodified. (In a multi-step task the kit's offline network then stays for the later steps.)

Refused, with Harbor's own messages unless said: GPUs and TPUs (ALE sandboxes have none), Windows tasks, Docker
Compose task environments (ALE's message: compose.yaml without a Dockerfile), wildcard hosts and CIDR ranges in an
allowlist, and network policies that change after start (e.g. a public agent with a no-network
verifier: ALE cannot give a sandbox egress back once it was cut, so it does not claim dynamic policies).
Dropped: Harbor's stream mode (SSH) and host mounts of the log folders; Harbor then downloads them.
`stop(delete=False)` keeps nothing: the sandboxes live in Harbor's process.
"""
from __future__ import annotations

import asyncio
import io
import re
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from harbor.environments.base import BaseEnvironment, ExecResult, transfer_tar_filter
from harbor.environments.capabilities import EnvironmentCapabilities, EnvironmentResourceCapabilities
from harbor.environments.definition import COMPOSE_FILE_NAME, DOCKERFILE_NAME, require_agent_environment_definition
from harbor.models.trial.config import ResourceMode
from harbor.models.trial.paths import EnvironmentPaths

from ale.bench.task import Task, image_name, load_task, verifier_setup
from ale.sandbox import TASK_CAPABILITIES, SandboxSpec
from ale.sandbox.client import AsyncSandboxClient
from ale.sandbox.spec import harbor_network

_DEFAULT_CPUS, _DEFAULT_MEMORY_MB = 1.0, 2048  # a task that sets none: ALE's runner's defaults
_DEFAULT_STORAGE_MB = 10240  # what TB2 tasks ask for
_NO_TIMEOUT = 7 * 24 * 3600.0  # Harbor's own timeouts (asyncio) bound a command given none
# Harbor's `exec(user=...)` as `docker exec -u`: the user's uid, gid, groups and HOME from the image's
# passwd (a bare uid not in it keeps root's HOME and no groups). setpriv is util-linux's (Debian, Ubuntu).
_AS_USER = ('u="$1"; shift; if pw=$(getent passwd "$u"); then export HOME="$(printf %s "$pw" | cut -d: -f6)"; '
            'exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"; fi; '
            'exec setpriv --reuid="$u" --regid="$u" --clear-groups "$@"')


class _Engine:
    """One embedded SandboxManager for every environment of this Harbor process (its trials share one
    event loop), started with the first environment and closed with the last."""

    manager = None
    users = 0
    lock: asyncio.Lock | None = None
    builds: dict[str, asyncio.Lock] = {}

    @classmethod
    async def acquire(cls):
        from ale.sandbox import SandboxManager
        from ale.sandbox.manager import DEFAULT_POLICY, GuardConfig

        cls.lock = cls.lock or asyncio.Lock()
        async with cls.lock:
            if cls.manager is None:
                # as ALE's runner: a build's or a solution's sustained CPU is recorded, not stopped as a miner's
                cls.manager = SandboxManager(guard=GuardConfig(policy={**DEFAULT_POLICY, "cpu_budget": "record"}))
                await cls.manager.start()
            cls.users += 1
            return cls.manager

    @classmethod
    async def release(cls) -> None:
        async with cls.lock:
            cls.users -= 1
            if cls.users == 0 and cls.manager is not None:
                manager, cls.manager = cls.manager, None
                await manager.close()


class ALEEnvironment(BaseEnvironment):
    """A Harbor environment on one ALE sandbox (see the module docstring for what is kept and refused)."""

    @staticmethod
    def type() -> str:
        return "ale"

    @property
    def capabilities(self) -> EnvironmentCapabilities:
        return EnvironmentCapabilities(disable_internet=True, network_allowlist=True,
                                       network_allowlist_hostnames=True, network_allowlist_ipv4_addresses=True,
                                       network_allowlist_ipv6_addresses=True)

    @classmethod
    def resource_capabilities(cls) -> EnvironmentResourceCapabilities:
        # cgroup limits: a CPU quota and a memory ceiling, no reservations
        return EnvironmentResourceCapabilities(cpu_limit=True, memory_limit=True, fractional_cpus=True)

    def _validate_definition(self) -> None:
        require_agent_environment_definition(self.environment_dir, docker_image=self.task_env_config.docker_image)
        if not (self.environment_dir / DOCKERFILE_NAME).exists() and (self.environment_dir / COMPOSE_FILE_NAME).exists():
            raise ValueError(f"{self.environment_dir / COMPOSE_FILE_NAME}: Docker Compose task environments are not "
                             "supported by ALE (one sandbox per task); give the task an environment/Dockerfile")

    async def start(self, force_build: bool) -> None:
        self._sandbox = None
        self._verifier_env: dict[str, str] | None = None  # set once Harbor's verifier has begun
        self._task: Task | None = None
        self._manager = await _Engine.acquire()
        try:
            image = await self._image(force_build)
            policy = self._network_policy
            cpus = self._resource_limit_value("cpu", auto_mode=ResourceMode.LIMIT) or _DEFAULT_CPUS
            memory = self._resource_limit_value("memory", auto_mode=ResourceMode.LIMIT) or _DEFAULT_MEMORY_MB
            self._sandbox = await AsyncSandboxClient(manager=self._manager).create(SandboxSpec(
                image=image, cpus=float(cpus), memory=f"{memory}m",
                disk=f"{self._effective_storage_mb or _DEFAULT_STORAGE_MB}m",
                network=harbor_network(network_mode=policy.network_mode.value, allowed_hosts=policy.allowed_hosts),
                workdir=self.task_env_config.workdir, idle_ttl=None, capabilities=TASK_CAPABILITIES,
                labels={"harbor_session": self.session_id[:200]}))
            if self.task_env_config.workdir:
                await self._sandbox.exec(["mkdir", "-p", self.task_env_config.workdir], cwd="/", timeout=60)
            await self.ensure_dirs(self._mount_targets(writable_only=True))
            await self._upload_environment_dir_after_start()
        except BaseException:
            await self.stop(delete=True)
            raise

    async def _image(self, force_build: bool) -> str:
        """The task's image through ALE's builder, kept while its Dockerfile, context and base are unchanged
        (the image name and cache of `ale bench run`); RUN steps get the task's baseline network policy."""
        base = self.task_env_config.resolve_baseline()
        net = harbor_network(network_mode=base.network_mode.value, allowed_hosts=base.allowed_hosts)
        with tempfile.TemporaryDirectory() as tmp:
            if (self.environment_dir / DOCKERFILE_NAME).exists():
                self._task = load_task(self.environment_dir.parent)
                name, dockerfile, context = image_name(self._task), self._task.dockerfile, self._task.context
            else:  # a prebuilt image only: FROM it, resolved as any FROM line (local store, image map, registry pull)
                ref = self.task_env_config.docker_image
                name = "harbor-" + re.sub(r"[^a-z0-9._-]", "-", ref.lower())
                dockerfile, context = Path(tmp) / "Dockerfile", Path(tmp)
                dockerfile.write_text(f"FROM {ref}\n")
            async with _Engine.builds.setdefault(name, asyncio.Lock()):  # concurrent trials of a task: one build
                await self._manager.build_image(name, dockerfile, context, log=self.logger.debug,
                                                network=net.mode if not net.allow else net, rebuild_changed=not force_build)
        return name

    async def stop(self, delete: bool) -> None:
        if getattr(self, "_manager", None) is None:
            return
        try:
            if self._sandbox is not None:
                await self._sandbox.delete()
                self._sandbox = None
        finally:
            self._manager = None
            await _Engine.release()

    def _live(self):
        if getattr(self, "_sandbox", None) is None:
            raise RuntimeError("the ALE sandbox is not running: call start() first")
        return self._sandbox

    async def exec(self, command: str, cwd: str | None = None, env: dict[str, str] | None = None,
                   timeout_sec: int | None = None, user: str | int | None = None) -> ExecResult:
        sb = self._live()
        user = self._resolve_user(user)
        env = {**(self._verifier_env or {}), **(self._merge_env(env) or {})}
        argv = ["bash", "-c", command]  # what Harbor's Docker environment runs (tasks rely on bash)
        if user is not None and str(user) not in ("root", "0"):
            argv = ["sh", "-c", _AS_USER, "sh", str(user), *argv]
        r = await sb.exec(argv, cwd=cwd, env=env or None, timeout=float(timeout_sec or _NO_TIMEOUT))
        return ExecResult(stdout=r.stdout, stderr=r.stderr, return_code=r.exit_code)

    async def upload_file(self, source_path: Path | str, target_path: str) -> None:
        target = PurePosixPath(target_path)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            tf.add(str(source_path), arcname=target.name, recursive=False)
        await self._live().upload(buf.getvalue(), str(target.parent))

    async def upload_dir(self, source_dir: Path | str, target_dir: str) -> None:
        sb = self._live()
        if PurePosixPath(target_dir) == EnvironmentPaths.tests_dir and self._verifier_env is None:
            # Harbor's verifier copies tests/ in only to verify: set up the verifier's network and kit first
            self._verifier_env = {}
            task = self._task or load_task(self.environment_dir.parent)
            # the sandbox already has the verifier's network policy (ALE claims no dynamic policies)
            self._verifier_env = await verifier_setup(self._manager, sb.id, task, cut_network=False)
        await sb.upload(Path(source_dir), target_dir)

    async def download_file(self, source_path: str, target_path: Path | str) -> None:
        data, is_tar = await self._live().download(source_path)
        if is_tar:
            raise IsADirectoryError(f"{source_path} is a directory in the sandbox")
        target = Path(target_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    async def download_dir(self, source_dir: str, target_dir: Path | str) -> None:
        data, is_tar = await self._live().download(source_dir)
        if not is_tar:
            raise NotADirectoryError(f"{source_dir} is not a directory in the sandbox")
        target = Path(target_dir)
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            # ALE's tar holds the folder itself (its name, then its files): unpack its contents into target
            top = PurePosixPath(source_dir).name or "."
            members = []
            for m in tf.getmembers():
                rel = PurePosixPath(m.name).relative_to(top) if m.name != top else None
                if rel is None:
                    continue
                m.name = str(rel)
                if m.islnk():  # hard links name their target by its path in the archive
                    m.linkname = str(PurePosixPath(m.linkname).relative_to(top))
                members.append(m)
            tf.extractall(target, members=members, filter=transfer_tar_filter)
