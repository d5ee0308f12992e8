"""CLI of the harness: `ale agent run|chat|proxy` and `ale traj show|view`.

Typer apps: `agent_app` (run: one episode in a fresh sandbox; chat: interactive; proxy: serve a model as an
OpenAI endpoint) and `traj_app` (show: print a trajectory; view: HTML viewer); ale/cli.py mounts them.
"""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ale.agent.loop import Agent, AgentConfig
from ale.agent.trajectory import Trajectory
from ale.cli_util import INTERRUPTED, checkpoint_model, fail, fresh_run_dir, out_file

agent_app = typer.Typer(help="Run the agent harness.", no_args_is_help=True)
traj_app = typer.Typer(help="Inspect trajectory files.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)  # paths and messages unbroken


@agent_app.callback()
def _agent_group() -> None:
    """Run the agent harness."""  # a callback keeps `run` a subcommand even while it is the only one


@traj_app.callback()
def _traj_group() -> None:
    """Inspect trajectory files."""


def _clip(text: str, lines: int = 25) -> str:
    parts = text.splitlines()
    if len(parts) <= lines:
        return text
    half = lines // 2
    return "\n".join(parts[:half] + [f"... ({len(parts) - 2 * half} lines)"] + parts[-half:])


class Network(str, Enum):
    none = "none"
    host = "host"


class ToolFormat(str, Enum):
    auto = "auto"
    native = "native"
    text = "text"


MODEL_HELP = ("openai:MODEL@URL | hf:PATH | smollm2-135m | scripted:FILE | ckpt:RUN_DIR[@STEP] (a training run's "
              "newest checkpoint, or that step's; RUN_DIR/checkpoints/step-N also works)")


def _model_spec(model: str) -> str:
    """A ckpt: spec becomes the hf: folder of its export (before any sandbox or model: a wrong run is one line)."""
    return checkpoint_model(model, "--model") if model.startswith("ckpt:") else model


def _load_model_or_exit(model: str, temperature: float | None) -> Any:
    """The CLI's model spec -> a Model (a remote endpoint is checked once), or one line and exit code 2."""
    import os

    from ale.agent.models import load_model

    # transformers' own loading bars (GGUF de-quantizing, weights) would interleave with ours; tqdm reads
    # this when first imported, which loading the model does
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        policy = load_model(model, **({} if temperature is None else {"temperature": temperature}))
        if hasattr(policy, "check"):
            policy.check()
        return policy
    except (ValueError, RuntimeError, OSError) as e:  # ModelError is a RuntimeError
        fail(f"cannot load model {model!r}: {e}")


def _sandbox_or_exit(**kw: Any) -> Any:
    """A fresh sandbox for the agent, or one line and exit code 2 (no such image, a bad size, ...)."""
    from ale.agent.environment import SandboxEnvironment
    from ale.sandbox import SandboxError

    try:
        return SandboxEnvironment.create(**kw)
    except ValueError as e:  # SandboxSpec's "FIELD: message"
        fail(f"bad sandbox option: {e}")
    except SandboxError as e:
        fail(e.message)


class _Shown:
    """The model as `agent run` drives it: a status line while it generates, with the tokens so far when
    the backend reports them (local HF models), instead of minutes of silence."""

    def __init__(self, model: Any):
        self._model, self.name = model, getattr(model, "name", "model")
        self.context_window, self.supports_native_tools = model.context_window, model.supports_native_tools

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Any:
        import time

        t0 = time.time()
        with console.status(f"{self.name}: generating") as status:
            if hasattr(self._model, "on_token"):
                self._model.on_token = lambda n: status.update(
                    f"{self.name}: generating, {n} tokens ({n / max(time.time() - t0, 1e-3):.1f} tok/s)")
            try:
                return self._model.generate(messages, tools)
            finally:
                if hasattr(self._model, "on_token"):
                    self._model.on_token = None


def print_step(step: dict[str, Any]) -> None:
    action = step.get("action")
    if action is None:
        title = f"step {step['index']} (turn {step['turn']}): format error"
        thought = step.get("action_text") or ""
    else:
        args = json.dumps(action["arguments"], ensure_ascii=False)
        title = f"step {step['index']} (turn {step['turn']}): {action['tool']} {args[:200]}"
        thought = step.get("action_text") or ""
    body = Text()
    if thought.strip():
        body.append(_clip(thought.strip(), 8) + "\n", style="dim")
    body.append(_clip(step.get("observation") or ""))
    style = "red" if step.get("error") or action is None else "green"
    console.print(Panel(body, title=Text(title), title_align="left", border_style=style))


def print_summary(t: Trajectory) -> None:
    trainable = sum(sum(s.loss_mask) for s in t.sequences)
    console.print(f"[bold]end:[/bold] {t.end_reason}  {t.end_detail[:300]}")
    console.print(f"turns {len(t.turns)}  steps {len(t.steps)}  wall {t.wall_s:.1f}s  reward {t.reward}  "
                  f"sequences {len(t.sequences)} ({', '.join(s.reason for s in t.sequences) or '-'})  "
                  f"chunks {len(t.chunks)}  trainable tokens {trainable}")


def _bench_task(spec: str) -> Any:
    """--task DIR|builtin:ID -> an ale.bench Task, or one line. (The CLI composes the parts here: the
    harness library itself does not use ale.bench.)"""
    from ale.bench.task import TaskError, load_task, load_tasks

    try:
        if spec.startswith("builtin:"):
            found = [t for t in load_tasks("builtin") if t.id == spec[8:]]
            if not found:
                fail(f"--task {spec}: no built-in task {spec[8:]!r} (see ale/bench/tasks/builtin)")
            return found[0]
        return load_task(spec)
    except TaskError as e:
        fail(f"--task {spec}: {e}")


def _task_env(task: Any, network: str, memory: str) -> Any:
    """A sandbox of the task's image (built if needed), with the capabilities tasks expect (as the evaluator)."""
    from ale.agent.environment import SandboxEnvironment
    from ale.bench.task import ensure_image
    from ale.sandbox import TASK_CAPABILITIES, SandboxClient, SandboxError, SandboxSpec

    client = SandboxClient()
    try:
        image = client.run_with_manager(lambda m: ensure_image(m, task, log=lambda line: console.print(line, style="dim")))
        env = SandboxEnvironment(client.create(SandboxSpec(image=image, network=network, memory=memory,
                                                           capabilities=TASK_CAPABILITIES)), owns_sandbox=True)
    except SandboxError as e:
        client.close()
        fail(f"task {task.id}: {e.message}")
    except BaseException:
        client.close()
        raise
    env._own_client = client  # closed with the environment, as SandboxEnvironment.create does
    return env


def _grade(task: Any, env: Any, t: Trajectory) -> None:
    """The task's tests on the sandbox as the agent left it; the reward goes into the trajectory."""
    import time

    from ale.bench.task import grade

    sid = env.sandbox.id
    g = env._own_client.run_with_manager(lambda m: grade(m, sid, task))
    t.reward = g.reward
    t.events.append({"type": "grade", "at": time.time(), "reward": g.reward, "n_tests": g.n_tests,
                     "n_passed": g.n_passed, "exit_code": g.exit_code, "timed_out": g.timed_out})
    console.print(f"[bold]graded:[/bold] {g.n_passed}/{g.n_tests} tests passed, reward {g.reward}")


@agent_app.command("run")
def run(task: Optional[str] = typer.Argument(None, help="task text (or --task)"),
        model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
        task_dir: Optional[str] = typer.Option(None, "--task", help="a benchmark task to watch: DIR (a task folder) or "
                                               "builtin:ID; its image and instruction, graded at the end"),
        image: str = typer.Option("base", help="sandbox image"),
        workdir: Optional[str] = typer.Option(None, help="working directory inside the sandbox (created)"),
        network: Network = typer.Option(Network.none, help="sandbox network: none (loopback only) or host"),
        memory: str = typer.Option("1g", help="sandbox memory limit"),
        max_steps: int = typer.Option(50, min=1, help="most model turns"),
        max_tokens: Optional[int] = typer.Option(None, min=1, help="context token budget (default: the model's)"),
        wall_time: float = typer.Option(1800.0, min=0.001, help="episode wall-time limit, seconds"),
        command_timeout: float = typer.Option(120.0, min=0.001, help="per-command timeout, seconds"),
        tool_format: ToolFormat = typer.Option(ToolFormat.auto, help="tool-call format (auto: native when the model supports it)"),
        temperature: Optional[float] = typer.Option(None, min=0.0, help="sampling temperature (hf/openai models)"),
        out: Optional[Path] = typer.Option(None, help="trajectory JSON (default runs/agent-TIME/traj.json)"),
        quiet: bool = typer.Option(False, help="do not stream steps")) -> None:
    """Run one episode in a fresh sandbox; exit 0 iff the agent finished (130 on Ctrl-C, the steps so far saved)."""
    if (task is None) == (task_dir is None):
        fail("give the task text or --task DIR|builtin:ID (one of them)")
    model = _model_spec(model)
    out = out_file(out) if out else fresh_run_dir("agent", create=False) / "traj.json"
    bench_task = _bench_task(task_dir) if task_dir else None
    if bench_task is not None:
        task, wall_time = bench_task.instruction, min(wall_time, bench_task.agent_timeout)
    cfg = AgentConfig(max_steps=max_steps, max_tokens=max_tokens, wall_time_s=wall_time,
                      command_timeout_s=command_timeout, tool_format=tool_format.value)
    # a scripted model cannot write summaries: its replies are the script
    summarizer = "actions" if model.startswith("scripted:") else None
    if bench_task is not None:
        env = _task_env(bench_task, network.value, memory)
    else:
        env = _sandbox_or_exit(image=image, network=network.value, memory=memory, workdir=workdir)
    t = None
    try:
        policy = _load_model_or_exit(model, temperature)
        agent = Agent(policy if quiet else _Shown(policy), env, cfg, summarizer=summarizer,
                      on_step=None if quiet else print_step)
        t = agent.run(task)
        if bench_task is not None and t.end_reason != "guard_stop":  # a guard stop reset the sandbox
            _grade(bench_task, env, t)
    except KeyboardInterrupt:
        t = getattr(locals().get("agent"), "traj", None)
    finally:
        env.close()
    if t is None:  # interrupted before the episode began
        raise typer.Exit(INTERRUPTED)
    print_summary(t)
    out.parent.mkdir(parents=True, exist_ok=True)
    t.save(out)
    console.print(f"trajectory: {out}  (view: ale traj view {out})")
    if t.end_reason == "interrupted":
        typer.echo(f"interrupted; {len(t.steps)} step(s) saved to {out}", err=True)
        raise typer.Exit(INTERRUPTED)
    raise typer.Exit(0 if t.end_reason == "finished" else 1)


@traj_app.command("show")
def show(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="trajectory JSON")) -> None:
    """Print a trajectory readably: task, steps, events, token sequences."""
    try:
        t = Trajectory.load(file)
    except (ValueError, KeyError, TypeError) as e:
        console.print(f"[red]{file}: not a trajectory file: {e}[/red]")
        raise typer.Exit(2)
    console.print(Panel(Text(_clip(t.task, 15)), title=f"task  (model {t.model})", title_align="left"))
    events = sorted(t.events, key=lambda e: e.get("at", 0))
    ei = 0
    for step in t.steps:
        turn_start = t.turns[step["turn"]].started_at if 0 <= step["turn"] < len(t.turns) else float("inf")
        while ei < len(events) and events[ei].get("at", 0) <= turn_start:
            console.print(f"[yellow]event: {json.dumps(events[ei], ensure_ascii=False)[:400]}[/yellow]")
            ei += 1
        print_step(step)
    for e in events[ei:]:
        console.print(f"[yellow]event: {json.dumps(e, ensure_ascii=False)[:400]}[/yellow]")
    print_summary(t)


@agent_app.command("proxy")
def proxy(model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
          port: int = typer.Option(8400, help="port on 127.0.0.1"),
          out: Optional[Path] = typer.Option(None, help="folder for one trajectory JSON per episode"),
          temperature: Optional[float] = typer.Option(None, help="sampling temperature (hf/openai models)")) -> None:
    """Serve MODEL as an OpenAI-compatible endpoint (agent-native mode) and record trajectories.

    Point a harness at http://127.0.0.1:PORT/e/EPISODE/v1 (or /v1 for episode "default");
    POST /e/EPISODE/end {"reward": R} closes an episode. Ctrl-C closes the rest and exits.
    """
    import signal
    import threading

    from ale.agent.proxy import ModelProxy

    policy = _load_model_or_exit(_model_spec(model), temperature)
    mp = ModelProxy(policy, out_dir=out)
    try:
        server = mp.serve(port)
    except OSError as e:
        console.print(f"[red]cannot listen on 127.0.0.1:{port}: {e}[/red]")
        raise typer.Exit(2)
    console.print(f"proxy for {policy.name}: {server.url}  (per episode: {server.episode_url('EPISODE')})", soft_wrap=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    for t in mp.end_all():
        console.print(f"episode {t.config['episode']}: {len(t.turns)} turns, {t.end_reason}")


@traj_app.command("view")
def view(files: list[Path] = typer.Argument(..., exists=True, help="trajectory JSON files, or folders of them"),
         port: int = typer.Option(8401, help="port on 127.0.0.1 (0: any free port)"),
         html: Optional[Path] = typer.Option(None, "--html", help="write static pages to this folder instead of serving")) -> None:
    """Serve an HTML viewer of trajectories (turns, tool calls, diffs, rewards, events, chunks) until Ctrl-C,
    or write it as static pages (--html DIR)."""
    import threading

    from ale.agent.viewer import expand, serve_viewer, write_static
    from ale.cli_util import out_dir

    n = len(expand(files))
    if n == 0:
        fail(f"no trajectory files in {', '.join(map(str, files))}")
    if html:
        index = write_static(files, out_dir(html, "--html"))
        console.print(f"wrote {n} trajectory page(s): {index}")
        return
    try:
        server = serve_viewer(files, port)
    except OSError as e:
        fail(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}")
    console.print(f"viewer: http://127.0.0.1:{server.server_address[1]}/  ({n} file(s); Ctrl-C stops)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()


@agent_app.command("chat")
def chat(model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
         image: str = typer.Option("base", help="sandbox image"),
         workdir: Optional[str] = typer.Option(None, help="working directory inside the sandbox (created)"),
         network: Network = typer.Option(Network.none, help="sandbox network: none (loopback only) or host"),
         memory: str = typer.Option("1g", help="sandbox memory limit"),
         max_steps: int = typer.Option(30, min=1, help="most model turns per message"),
         command_timeout: float = typer.Option(120.0, min=0.001, help="per-command timeout, seconds"),
         tool_format: ToolFormat = typer.Option(ToolFormat.auto, help="tool-call format (auto: native when the model supports it)"),
         temperature: Optional[float] = typer.Option(None, help="sampling temperature (hf/openai models)"),
         out: Optional[Path] = typer.Option(None, help="write the whole session's trajectory JSON here")) -> None:
    """Interactive session: you type, the agent acts in one sandbox (kept for the whole session) and answers.

    A reply without a tool call is the agent's answer to you. /exit, /quit or end of input ends the session.
    """
    if out:
        out_file(out)
    model = _model_spec(model)
    cfg = AgentConfig(max_steps=max_steps, command_timeout_s=command_timeout, tool_format=tool_format.value,
                      wall_time_s=24 * 3600.0, plain_reply_finishes=True)
    env = _sandbox_or_exit(image=image, network=network.value, memory=memory, workdir=workdir)
    try:
        policy = _load_model_or_exit(model, temperature)
    except BaseException:
        env.close()
        raise
    agent = Agent(policy, env, cfg, summarizer="actions" if model.startswith("scripted:") else None, on_step=print_step)
    t, interrupted = None, False
    console.print(f"[bold]ale chat[/bold] with {policy.name} in a fresh sandbox ({image}); /exit to leave")
    try:
        while True:
            try:
                text = console.input("[bold cyan]you>[/bold cyan] ")
            except EOFError:
                break
            if text.strip() in ("/exit", "/quit"):
                break
            if not text.strip():
                continue
            t = agent.run(text) if t is None else agent.follow_up(text)
            if t.end_reason == "finished":
                console.print(Panel(Text(t.end_detail or "(done)"), title="agent", title_align="left", border_style="cyan"))
            else:
                console.print(f"[yellow]stopped: {t.end_reason}  {t.end_detail[:300]}[/yellow]")
            if t.end_reason in ("guard_stop", "error"):
                break  # the sandbox was reset or the model failed: this session cannot go on sensibly
    except KeyboardInterrupt:  # Ctrl-C: the session so far is kept (agent.traj, ended as interrupted)
        t, interrupted = getattr(agent, "traj", None), True
    finally:
        env.close()
    if t is not None:
        print_summary(t)
        if out:
            t.save(out)
            console.print(f"trajectory: {out}")
    if interrupted:
        typer.echo(f"interrupted; {len(t.steps) if t else 0} step(s) saved{f' to {out}' if out and t else ''}", err=True)
        raise typer.Exit(INTERRUPTED)
