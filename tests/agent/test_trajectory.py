"""Token-exactness: trainable tokens are exactly the sampled tokens, one chunk per model turn."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ale.agent import Agent, AgentConfig, Trajectory, build_sequences, training_data
from ale.agent.models.hf import ChatRenderer
from ale.agent.protocols import TOKEN_IDS_KEY
from ale.agent.trajectory import ModelTurn
from .agent_testkit import LocalEnvironment, TokenScriptedModel, check_exact, make_tiny_tokenizer

TOK = make_tiny_tokenizer()

ids = st.lists(st.integers(0, 500), max_size=12)


@st.composite
def episodes(draw):
    """Random turns: each prompt extends the previous prompt+response by observation tokens, except after a
    compaction (a fresh prompt); some turns come from a backend without token ids."""
    turns, history, n_compactions = [], [], 0
    for i in range(draw(st.integers(1, 12))):
        compact = bool(history) and draw(st.booleans()) and draw(st.booleans())
        if compact:
            n_compactions += 1
            history = [10_000 + i] + draw(ids)  # sentinel first token: cannot extend the old sequence
        else:
            history = history + draw(ids)
        if not history:
            history = [1]
        resp = draw(ids)
        lps = [-(k % 7) / 3 for k in range(len(resp))]
        turns.append(ModelTurn(index=i, prompt_ids=list(history), response_ids=resp, logprobs=lps,
                               after_compaction=compact))
        history = history + resp
    return turns, n_compactions


@settings(max_examples=150, deadline=None)
@given(episodes())
def test_build_sequences_is_token_exact(ep):
    turns, n_compactions = ep
    seqs = build_sequences(turns)
    check_exact(turns, seqs)
    assert len(seqs) == 1 + n_compactions


def test_prefix_mismatch_starts_a_new_sequence_and_says_so():
    turns = [ModelTurn(0, [1, 2], [3], [-0.1]), ModelTurn(1, [1, 9, 3, 4], [5], [-0.2])]
    seqs = build_sequences(turns)
    assert [s.reason for s in seqs] == ["start", "prefix_mismatch"] and seqs[1].input_ids == [1, 9, 3, 4, 5]


def test_turns_without_ids_are_skipped_and_bad_logprobs_rejected():
    assert build_sequences([ModelTurn(0), ModelTurn(1)]) == []
    import pytest
    with pytest.raises(ValueError, match="logprobs"):
        build_sequences([ModelTurn(0, [1], [2, 3], [-1.0])])


def test_renderer_splices_sampled_ids_and_is_prefix_stable():
    r = ChatRenderer(TOK)
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "task"}]
    p1 = r.render(msgs)
    sampled = [7, 8, 9, TOK.eos_token_id]  # ids the text "hi" would never tokenise to
    msgs.append({"role": "assistant", "content": "hi", TOKEN_IDS_KEY: sampled})
    msgs.append({"role": "user", "content": "obs"})
    p2 = r.render(msgs)
    assert p2[:len(p1)] == p1 and p2[len(p1):len(p1) + 4] == sampled
    assert TOK.decode(p2[len(p1) + 4:]) == "\n<|im_start|>user\nobs<|im_end|>\n<|im_start|>assistant\n"


@st.composite
def scripts(draw):
    words = st.text(alphabet="abcdefxyz0123456789 _-", min_size=1, max_size=30)
    out = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["echo", "write", "read", "todo", "bad"]))
        w = draw(words)
        if kind == "bad":
            out.append(f"I think {w}")
            continue
        args = {"echo": ("bash", {"command": f"echo '{w}'"}), "write": ("write_file", {"path": "f.txt", "content": w}),
                "read": ("read_file", {"path": "f.txt"}), "todo": ("todo", {"items": [{"content": w}]})}[kind]
        out.append(f'thinking {w}\n<tool_call>{json.dumps({"name": args[0], "arguments": args[1]})}</tool_call>')
    return out + ['<tool_call>{"name": "finish", "arguments": {}}</tool_call>']


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scripts(), st.integers(150, 3000), st.integers(0, 3))
def test_agent_episodes_are_token_exact_across_compaction(tmp_path_factory, replies, room, keep):
    env = LocalEnvironment(tmp_path_factory.mktemp("ep"))
    model = TokenScriptedModel(TOK, replies)
    cfg = AgentConfig(keep_recent_turns=keep, tools=("bash", "read_file", "write_file", "todo", "finish"))
    p0 = len(ChatRenderer(TOK).render([{"role": "system", "content": cfg.system_prompt},
                                       {"role": "user", "content": "task"}],
                                      [t.schema() for t in Agent(model, env, cfg).tools.values()]))
    cfg.max_tokens = int((p0 + room) / cfg.compact_at)
    t = Agent(model, env, cfg, summarizer="actions").run("task")
    assert t.end_reason in ("finished", "format_errors", "loop", "context_limit"), t.end_detail
    assert [turn.response_ids for turn in t.turns] == model.sampled
    check_exact(t.turns, t.sequences)
    n_comp = sum(e["type"] == "compaction" for e in t.events)
    assert len(t.sequences) == (1 if t.turns else 0) + sum(turn.after_compaction for turn in t.turns)
    assert sum(turn.after_compaction for turn in t.turns) <= n_comp
    # the file round trip gives the trainer the same plain lists
    path = tmp_path_factory.mktemp("out") / "t.json"
    t.save(path)
    data = training_data(path)
    assert data == training_data(t)
    assert [d["chunks"] for d in data] == [[[c[0], c[1]] for c in s.chunks] for s in t.sequences]
    expected, written = [], False  # malformed replies, and reading f.txt before it exists, are the failures
    for r in replies[:len(t.turns)]:
        written = written or '"write_file"' in r
        expected.append(not r.startswith("thinking") and "finish" not in r or ('"read_file"' in r and not written))
    assert [e for d in data for e in d["chunk_errors"]] == expected
    loaded = Trajectory.load(path)
    assert [x.response_ids for x in loaded.turns] == model.sampled
    assert [x.prompt_ids for x in loaded.turns] == [x.prompt_ids for x in t.turns]


def test_compaction_in_a_real_episode_starts_a_new_sequence(tmp_path):
    replies = [f'<tool_call>{{"name": "bash", "arguments": {{"command": "seq {i} {i + 40}"}}}}</tool_call>'
               for i in range(8)] + ['<tool_call>{"name": "finish", "arguments": {}}</tool_call>']
    model = TokenScriptedModel(TOK, replies)
    env = LocalEnvironment(tmp_path)
    t = Agent(model, env, AgentConfig(max_tokens=6000), summarizer="actions").run("task")
    assert t.end_reason == "finished"
    assert any(e["type"] == "compaction" for e in t.events)
    assert [s.reason for s in t.sequences][:2] == ["start", "compaction"]
    check_exact(t.turns, t.sequences)
    d = json.loads(json.dumps(t.to_dict()))
    assert d["chunks"][0] == {"sequence": 0, "start": t.sequences[0].chunks[0][0],
                              "end": t.sequences[0].chunks[0][1], "turn": 0}
