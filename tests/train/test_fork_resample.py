"""Chunk-level initialised resampling by fork (issue #13): a rollout that starts at anchor k from a fork
of the once-run expert prefix sees the same environment as one that replays chunks 0..k-1 in a fresh
sandbox, on a deterministic task; and the trainer's default path forks."""
import os

import pytest

from ale.bench.generators import generate
from ale.bench.task import load_tasks

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")

# The expert: three bash chunks that change files (a whiteout, a symlink, a mode) and the session's
# state (cwd, an exported and a plain variable, an alias, a function).
CHUNKS = ["mkdir -p /workspace/w && cd /workspace/w && echo one > a && export STAGE=1",
          "rm /etc/hostname; ln -s a link; echo two >> a; chmod 600 a; PLAIN=2; alias hi='echo hi'; f() { echo f; }",
          "echo three > b; cd /"]
# What the policy looks at first: the environment as the rollout found it at its anchor.
LOOK = ("pwd; echo \"${STAGE-none} ${PLAIN-none}\"; alias; type f 2>&1 | head -1; "
        "{ find /workspace ! -type d -printf '%p %y %m %s %l\\n'; find /workspace -type d -printf '%p %m\\n'; } | sort; "
        "cat /workspace/w/a; ls /etc/hostname 2>&1")  # (not a directory's size: it follows the layer it is in)


class FakePolicy:
    """FAKE for tests: the engine-backed chat model's interface (clients, renderer, version), whose
    clients reply with LOOK then finish, so the observation of LOOK is the state at the anchor."""

    def __init__(self, tok):
        from ale.agent.models.hf import ChatRenderer

        self.renderer, self.tok = ChatRenderer(tok), tok
        self.name, self.context_window, self.tokenizer_fingerprint = "fake", 8192, "fake"
        self.engine = type("Engine", (), {"version": 0})()

    def client(self, client_id=None):
        return FakeClient(self, client_id)

    def release(self, client_id):
        pass


class FakeClient:
    def __init__(self, owner, client_id):
        self.owner, self.id, self.name, self.context_window = owner, client_id, owner.name, owner.context_window
        self.supports_native_tools, self.versions, self.turns = False, [], 0

    def generate(self, messages, tools=None):
        from ale.agent.protocols import ModelReply

        text = f"```bash\n{LOOK}\n```" if self.turns == 0 else \
            '<tool_call>{"name": "finish", "arguments": {"summary": "done"}}</tool_call>'
        self.turns += 1
        self.versions.append(0)
        ids = self.owner.tok.encode(text, add_special_tokens=False) + [self.owner.tok.eos_token_id]
        prompt = self.owner.renderer.render(messages, tools)
        return ModelReply(message={"role": "assistant", "content": text}, prompt_tokens=len(prompt),
                          completion_tokens=len(ids), prompt_ids=prompt, response_ids=ids, logprobs=[0.0] * len(ids),
                          finish_reason="stop")

    def release(self):
        pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from ale.train.policy import PolicyConfig, load_policy
    from ale.train.rollout import Expert

    d = tmp_path_factory.mktemp("tasks")
    generate("write-word", 1, 0, d, hint=False)
    _, tok = load_policy(PolicyConfig(model="tiny", context_window=8192))
    expert = Expert([tok.encode(f"```bash\n{c}\n```", add_special_tokens=False) + [tok.eos_token_id] for c in CHUNKS])
    return load_tasks(str(d))[0], expert, FakePolicy(tok)


def _looks(setup, start: str) -> dict[int, tuple[str, list[str]]]:
    """anchor -> (what LOOK printed, the rollout sandbox's event kinds), for anchors 1 and 2."""
    from ale.agent.loop import AgentConfig
    from ale.train.rollout import EpisodeSpec, SandboxPool, run_episodes

    task, expert, model = setup
    pool = SandboxPool(memory="512m", start=start)
    try:
        specs = [EpisodeSpec(task=task, group=0, client_id=i, expert=expert, anchor=k) for i, k in enumerate((1, 2, 2))]
        res = run_episodes(specs, pool, model, AgentConfig(max_steps=6, tool_format="text", notes_file=None), 3, 0, "pass")
        assert res.dropped_broken == 0 and len(res.episodes) == 3, res.broken
        out = {}
        for ep in res.episodes:
            look = next(s["observation"] for s in ep.trajectory.steps if s["action_text"].startswith("```bash\npwd;"))
            assert out.setdefault(ep.spec.anchor, (look, None))[0] == look  # two rollouts at anchor 2 agree
            out[ep.spec.anchor] = (look, [e["kind"] for e in ep.trajectory.sandbox_events])
        if start == "fork":  # the prefix ran once, with a snapshot at each anchor
            (prefix,) = pool.prefixes._tracks.values()
            assert sorted(prefix.anchors) == [1, 2]
        return out
    finally:
        pool.close()


def test_fork_and_replay_reach_the_same_state(setup):
    forked, replayed = _looks(setup, "fork"), _looks(setup, "replay")
    for k in (1, 2):
        assert forked[k][0] == replayed[k][0], k
        assert "forked" in forked[k][1] and "forked" not in replayed[k][1]
    one, two = forked[1][0], forked[2][0]
    assert one.startswith("/workspace/w\n1 none\n") and "one\n" in one and "hostname\n" in one.split("/workspace/w/a")[-1]
    assert two.startswith("/workspace/w\n1 2\nalias hi='echo hi'\nf is a function\n")
    assert "/workspace/w/a f 600 8 \n" in two and "/workspace/w/link l 777 1 a\n" in two and "No such file" in two


def test_the_trainer_forks_by_default():
    from ale.train.config import load_config

    assert load_config(None, []).resample.start == "fork"
    assert load_config(None, ["resample.start=replay"]).resample.start == "replay"


def test_prefix_tracks_beyond_the_limit_go_least_recently_used_first(setup):
    """FAKE prefix runs (no sandbox): which tracks are kept between steps."""
    from concurrent.futures import ThreadPoolExecutor

    from ale.train.rollout import EpisodeSpec, Expert, Prefixes, _Prefix

    class Box:
        deleted, state = False, "running"

        def delete(self):
            self.deleted = True

        def status(self):
            return self

    task, expert, _ = setup
    experts = [expert, Expert(expert.chunks[:2]), Expert(expert.chunks[1:])]
    prefixes = Prefixes(pool=None, max_tracks=2)
    prefixes._run = lambda task, expert, anchors, model, cfg: _Prefix(Box(), [], {k: ("s", 0, None) for k in anchors})
    with ThreadPoolExecutor(2) as ex:
        def step(*used):
            prefixes.prepare([EpisodeSpec(task=task, group=0, client_id=0, expert=experts[i], anchor=1) for i in used],
                             None, None, ex)
            return [p.sandbox for p in prefixes._tracks.values()]
        a, b = step(0, 1)
        assert step(0) == [b, a]  # used again: most recent
        c = step(2)[-1]
        assert b.deleted and not a.deleted and [p.sandbox for p in prefixes._tracks.values()] == [a, c]
        assert len(step(0, 1, 2)) == 3  # one step's tracks all stay
        a = step(0)[-1]
        a.state = "stopped"  # e.g. by the guard: its prefix runs again
        assert step(0)[-1] is not a and a.deleted


def test_a_forked_rollout_gets_the_prefix_runs_answers_then_the_forks():
    """FAKE environments: the record is replayed call by call (exceptions too), checked, then the fork answers."""
    from ale.train.rollout import _ForkedEnv, _RecordingEnv

    class Env:
        workdir = "/w"

        def __init__(self, name):
            self.name = name

        def run(self, command, timeout, idle_timeout=None):
            return f"{self.name}: {command}"

        def read_file(self, path):
            raise FileNotFoundError(2, f"{self.name}: no {path}")

    prefix = _RecordingEnv(Env("prefix"))
    assert prefix.run("ls", 10.0) == "prefix: ls"
    with pytest.raises(FileNotFoundError):
        prefix.read_file("AGENTS.md")
    forked = _ForkedEnv(Env("fork"), prefix.calls)
    assert forked.run("ls", 3.5) == "prefix: ls"  # another timeout: the same call
    with pytest.raises(FileNotFoundError, match="prefix: no AGENTS.md"):
        forked.read_file("AGENTS.md")
    assert forked.run("pwd", 10.0) == "fork: pwd"  # past the record: the fork
    with pytest.raises(RuntimeError, match="did not repeat its recorded run"):
        _ForkedEnv(Env("fork"), prefix.calls).run("rm -rf /", 10.0)
