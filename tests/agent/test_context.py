import json

import pytest

from ale.agent import Agent, AgentConfig
from ale.agent.context import LoopDetector, actions_summary, head_tail, split_history
from ale.agent.models import ScriptedModel


def tc(name, **args):
    return {"tool_calls": [{"function": {"name": name, "arguments": json.dumps(args)}}]}


def test_head_tail_keeps_both_ends_and_says_where():
    text = "".join(f"line{i}\n" for i in range(1000))
    out = head_tail(text, 200, "/tmp/full.txt")
    assert out.startswith(text[:100]) and out.endswith(text[-100:])
    assert f"{len(text) - 200} characters omitted of {len(text)}" in out and "/tmp/full.txt" in out
    assert "full output" not in head_tail(text, 200, None)


def test_loop_detector_counts_consecutive_repeats():
    d = LoopDetector(remind_at=2, end_at=4)
    assert [d.observe("a", "x") for _ in range(4)] == ["ok", "remind", "ok", "stop"]
    d = LoopDetector(remind_at=2, end_at=3)
    assert [d.observe(a, "x") for a in "aabaab"] == ["ok", "remind", "ok", "ok", "remind", "ok"]
    d = LoopDetector(remind_at=2, end_at=3, key="action+observation")
    assert [d.observe("a", o) for o in "xyxy"] == ["ok"] * 4
    with pytest.raises(ValueError):
        LoopDetector(key="nope")
    with pytest.raises(ValueError):
        LoopDetector(remind_at=4, end_at=3)


def test_split_history_keeps_whole_recent_turns():
    msgs = [{"role": "system"}, {"role": "user"}]
    for _ in range(4):
        msgs += [{"role": "assistant"}, {"role": "tool"}, {"role": "user"}]
    cut = split_history(msgs, 2, 2)
    assert cut == 8 and msgs[cut]["role"] == "assistant" and sum(m["role"] == "assistant" for m in msgs[cut:]) == 2
    assert split_history(msgs[:5], 2, 2) is None


def test_actions_summary_lists_actions_and_results():
    msgs = [{"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "bash", "arguments": '{"command":"ls"}'}}]},
            {"role": "tool", "content": "a.txt\nb.txt"}]
    assert actions_summary(msgs) == '- did: bash({"command":"ls"})\n  got: a.txt'


class RecordingSummarizer(ScriptedModel):
    def generate(self, messages, tools=None):
        self.seen = messages
        return super().generate(messages, tools)


def compaction_run(env, summarizer, steps=12, keep=2):
    replies = [tc("todo", items=[{"content": "print numbers", "status": "in_progress"}])]
    replies += [tc("bash", command=f"seq {i} {i + 60}") for i in range(steps)] + [tc("finish", summary="ok")]
    probe = Agent(ScriptedModel(replies[:1]), env, AgentConfig()).run("count")
    p0 = probe.turns[0].prompt_tokens
    cfg = AgentConfig(max_tokens=int((p0 + 900) / 0.8), keep_recent_turns=keep)
    agent = Agent(ScriptedModel(replies, context_window=10**6), env, cfg, summarizer=summarizer)
    return agent, agent.run("count")


def test_compaction_replaces_old_turns_by_a_summary(env):
    summ = RecordingSummarizer(["SUMMARY: printed numbers"] * 10)
    agent, t = compaction_run(env, summ)
    assert t.end_reason == "finished"
    comps = [e for e in t.events if e["type"] == "compaction"]
    assert comps and comps[0]["summary"] == "SUMMARY: printed numbers" and comps[0]["dropped_messages"] > 0
    assert comps[0]["tokens_after"] < comps[0]["tokens_before"]
    assert "seq 0 60" in summ.seen[1]["content"]  # the summariser saw the dropped turns
    live = agent.messages
    assert [m["role"] for m in live[:3]] == ["system", "user", "user"] and live[1]["content"] == "count"
    assert "SUMMARY: printed numbers" in live[2]["content"] and "[~] print numbers" in live[2]["content"]
    last = max(turn.index for turn in t.turns if turn.after_compaction)
    assert live[3]["role"] == "assistant"
    assert sum(m["role"] == "assistant" for m in live[3:]) == 2 + len(t.turns) - last  # 2 kept + later turns
    # the trajectory keeps every message, including the compaction note
    assert len(t.messages) > len(live) and any("compacted" in (m.get("content") or "") for m in t.messages)
    # and the turn right after each compaction is flagged
    assert sum(turn.after_compaction for turn in t.turns) == len(comps)


def test_failed_summary_falls_back_to_action_list(env):
    agent, t = compaction_run(env, ScriptedModel([]))  # an empty script: every summary call fails
    comp = next(e for e in t.events if e["type"] == "compaction")
    assert t.end_reason == "finished" and comp["summarizer"] == "actions" and "- did: bash" in comp["summary"]
    assert any(e["type"] == "summary_failed" for e in t.events)


def test_policy_model_summarises_itself_by_default(env):
    class Policy(ScriptedModel):
        def generate(self, messages, tools=None):
            if messages[0]["content"].startswith("You write progress notes"):
                from ale.agent.protocols import ModelReply
                return ModelReply(message={"role": "assistant", "content": "self summary"})
            return super().generate(messages, tools)

    replies = [tc("bash", command=f"seq {i} {i + 60}") for i in range(10)] + [tc("finish")]
    p0 = Agent(ScriptedModel(replies[:1]), env).run("count").turns[0].prompt_tokens
    t = Agent(Policy(replies), env, AgentConfig(max_tokens=int((p0 + 400) / 0.8))).run("count")
    comps = [e for e in t.events if e["type"] == "compaction"]
    assert t.end_reason == "finished" and comps and comps[0]["summary"] == "self summary"
