"""Model proxy: a real OpenAI client (the `openai` package) drives a tool loop against it over HTTP."""
import json
import subprocess
import threading

import httpx
import pytest
from openai import BadRequestError, OpenAI

from ale.agent.models import ScriptedModel
from ale.agent.models.hf import HFModel
from ale.agent.protocols import ModelReply
from ale.agent.proxy import ModelProxy, QueuePolicy
from ale.agent.trajectory import Trajectory
from .agent_testkit import check_exact, make_tiny_llama, make_tiny_tokenizer

BASH = {"type": "function", "function": {"name": "bash", "description": "run a command",
                                         "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                                                        "required": ["command"]}}}


def tc(name, **args):
    return {"tool_calls": [{"function": {"name": name, "arguments": json.dumps(args)}}]}


def external_harness(base_url, task, workdir, max_turns=10):
    """A minimal third-party harness: OpenAI client + a local bash tool, loops until a plain answer."""
    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    messages = [{"role": "system", "content": "You are a shell agent."}, {"role": "user", "content": task}]
    for _ in range(max_turns):
        r = client.chat.completions.create(model="whatever", messages=messages, tools=[BASH])
        msg = r.choices[0].message
        messages.append(msg.model_dump(exclude_none=True))
        if not msg.tool_calls:
            return msg.content, messages
        for call in msg.tool_calls:
            cmd = json.loads(call.function.arguments)["command"]
            out = subprocess.run(["bash", "-c", cmd], cwd=workdir, capture_output=True, text=True).stdout
            messages.append({"role": "tool", "tool_call_id": call.id, "content": out})
    return None, messages


def test_scripted_policy_serves_an_openai_tool_loop_and_records_it(tmp_path):
    policy = ScriptedModel([tc("bash", command="echo hello > f.txt"), tc("bash", command="cat f.txt"),
                            {"content": "f.txt says hello"}])
    proxy = ModelProxy(policy, out_dir=tmp_path / "trajs")
    with proxy.serve() as server:
        answer, messages = external_harness(server.episode_url("ep1"), "write hello to f.txt", tmp_path)
        assert answer == "f.txt says hello"
        assert (tmp_path / "f.txt").read_text() == "hello\n"
        ended = httpx.post(f"http://127.0.0.1:{server.port}/e/ep1/end", json={"reward": 1.0}).json()
    assert ended["end_reason"] == "finished" and ended["turns"] == 3
    t = Trajectory.load(tmp_path / "trajs" / "ep1.json")
    assert t.task == "write hello to f.txt" and t.reward == 1.0 and t.model == "scripted"
    assert [s["action"]["arguments"]["command"] for s in t.steps] == ["echo hello > f.txt", "cat f.txt"]
    assert [s["observation"] for s in t.steps] == ["", "hello\n"]  # filled from the client's tool messages
    assert t.messages[-1]["content"] == "f.txt says hello" and len(t.messages) == len(messages)
    assert t.sequences == []  # a scripted policy has no token ids


def test_bad_requests_get_clear_errors():
    proxy = ModelProxy(ScriptedModel(["hi"]))
    with proxy.serve() as server:
        client = OpenAI(base_url=server.url, api_key="x", max_retries=0)
        with pytest.raises(BadRequestError, match="streaming is not supported"):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
        r = httpx.post(server.url + "/chat/completions", json={"messages": []})
        assert r.status_code == 400 and "non-empty" in r.json()["error"]["message"]
        r = httpx.post(server.url + "/chat/completions", json={"messages": [{"role": "robot", "content": "x"}]})
        assert r.status_code == 400 and "messages[0]" in r.json()["error"]["message"]
        r = httpx.post(f"http://127.0.0.1:{server.port}/e/nope/end", json={})
        assert r.status_code == 404


def test_queue_policy_lets_a_trainer_answer_requests():
    policy = QueuePolicy(name="trainer")
    seen = []

    def trainer():  # answers two requests, with token ids, like a trainer's generator would
        for i in range(2):
            req = policy.requests.get(timeout=10)
            seen.append((req.episode, [m["role"] for m in req.messages], req.tools is not None))
            req.reply(ModelReply(message={"role": "assistant", "content": f"answer {i}"}, prompt_ids=[1, 2, 3 + i],
                                 response_ids=[7, 8], logprobs=[-0.5, -0.25], prompt_tokens=3, completion_tokens=2))

    th = threading.Thread(target=trainer)
    th.start()
    proxy = ModelProxy(policy)
    with proxy.serve() as server:
        client = OpenAI(base_url=server.episode_url("e7"), api_key="x", max_retries=0)
        r1 = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}], tools=[BASH])
        r2 = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q2"}])
    th.join(5)
    assert r1.choices[0].message.content == "answer 0" and r2.choices[0].message.content == "answer 1"
    assert r1.usage.prompt_tokens == 3 and r1.choices[0].finish_reason == "stop"
    assert seen == [("e7", ["user"], True), ("e7", ["user"], False)]
    t = proxy.end_episode("e7")
    # the second prompt [1,2,4] does not extend [1,2,3,7,8]: a new sequence, and it says why
    assert [s.reason for s in t.sequences] == ["start", "prefix_mismatch"]


@pytest.fixture(scope="module")
def tiny_hf():
    model, tok = make_tiny_llama()
    return HFModel(model, tok, temperature=1.0, max_new_tokens=10, seed=3)


def test_hf_policy_records_token_exact_turns_through_the_proxy(tiny_hf):
    """The client echoes plain text; the proxy re-attaches its sampled ids, so all turns form one
    sequence whose trainable tokens are exactly the sampled ones. An edited echo breaks the prefix."""
    proxy = ModelProxy(tiny_hf)
    with proxy.serve() as server:
        client = OpenAI(base_url=server.episode_url("hf"), api_key="x", max_retries=0)
        messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "start"}]
        for i in range(3):
            r = client.chat.completions.create(model="m", messages=messages, tools=[BASH])
            messages.append(r.choices[0].message.model_dump(exclude_none=True))
            messages.append({"role": "user", "content": f"observation {i}"})
        t = proxy.end_episode("hf")
        assert len(t.turns) == 3 and all(turn.response_ids for turn in t.turns)
        assert [s.reason for s in t.sequences] == ["start"]
        check_exact(t.turns, t.sequences)
        assert sum(len(turn.response_ids) for turn in t.turns) == sum(t.sequences[0].loss_mask)

        client2 = OpenAI(base_url=server.episode_url("hf2"), api_key="x", max_retries=0)
        first = messages[:2]
        r = client2.chat.completions.create(model="m", messages=first, tools=[BASH])
        edited = {"role": "assistant", "content": (r.choices[0].message.content or "") + " (edited)"}
        client2.chat.completions.create(model="m", messages=first + [edited, {"role": "user", "content": "o"}])
        t2 = proxy.end_episode("hf2")
        assert [s.reason for s in t2.sequences] == ["start", "prefix_mismatch"]


def test_hermes_text_becomes_tool_calls_and_echoed_calls_keep_their_ids(tmp_path):
    """TokenScriptedModel is a FAKE token-producing policy (real ChatRenderer, scripted text)."""
    from .agent_testkit import TokenScriptedModel

    policy = TokenScriptedModel(make_tiny_tokenizer(), [
        'let me look\n<tool_call>{"name": "bash", "arguments": {"command": "echo 41"}}</tool_call>',
        "the answer is 41"])
    proxy = ModelProxy(policy)
    with proxy.serve() as server:
        answer, messages = external_harness(server.episode_url("h"), "what does echo 41 print?", tmp_path)
    assert answer == "the answer is 41"
    assert messages[2]["content"] == "let me look" and messages[2]["tool_calls"][0]["function"]["name"] == "bash"
    assert messages[3]["content"] == "41\n"
    t = proxy.end_episode("h")
    assert t.end_reason == "finished" and t.steps[0]["observation"] == "41\n"
    assert [s.reason for s in t.sequences] == ["start"]  # the echoed tool-call message got its ids back
    check_exact(t.turns, t.sequences)


def test_cli_proxy_serves_and_saves_episodes_on_sigterm(tmp_path):
    import re
    import signal
    import sys

    f = tmp_path / "s.jsonl"
    f.write_text(json.dumps({"content": "hello from the proxy"}) + "\n")
    p = subprocess.Popen([sys.executable, "-c", "from ale.agent.cli import agent_app; agent_app()", "proxy",
                          "--model", f"scripted:{f}", "--port", "0", "--out", str(tmp_path / "out")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert url, line
        client = OpenAI(base_url=url.group(1), api_key="x", max_retries=0)
        r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert r.choices[0].message.content == "hello from the proxy"
    finally:
        p.send_signal(signal.SIGTERM)
        out = p.communicate(timeout=20)[0]
    assert p.returncode == 0, out
    assert "episode default: 1 turns, finished" in out
    assert Trajectory.load(tmp_path / "out" / "default.json").task == "hi"


def test_trainer_batches_more_concurrent_episodes_than_a_thread_pool_would_allow():
    """60 episodes wait at once; the trainer answers only when it holds all 60 requests (one batch)."""
    n = 60
    policy = QueuePolicy(name="batcher", timeout_s=60)

    def trainer():
        batch = [policy.requests.get(timeout=30) for _ in range(n)]
        for req in batch:
            req.reply(ModelReply(message={"role": "assistant", "content": f"hi {req.episode}"}))

    th = threading.Thread(target=trainer, daemon=True)
    th.start()
    proxy = ModelProxy(policy)
    with proxy.serve() as server:
        def one(i):
            r = httpx.post(server.episode_url(f"e{i}") + "/chat/completions", timeout=60,
                           json={"messages": [{"role": "user", "content": "x"}]})
            return r.json()["choices"][0]["message"]["content"]

        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(one, range(n)))
    th.join(5)
    assert answers == [f"hi e{i}" for i in range(n)]
    assert sorted(t.config["episode"] for t in proxy.end_all()) == sorted(f"e{i}" for i in range(n))


IN_SANDBOX_HARNESS = """
import json, subprocess, sys, urllib.request
url = sys.argv[1] + "/chat/completions"
tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
messages = [{"role": "user", "content": "what is the kernel name?"}]
for _ in range(5):
    req = urllib.request.Request(url, data=json.dumps({"messages": messages, "tools": tools}).encode(),
                                 headers={"Content-Type": "application/json"})
    msg = json.load(urllib.request.urlopen(req))["choices"][0]["message"]
    messages.append(msg)
    if not msg.get("tool_calls"):
        print("ANSWER:", msg["content"])
        break
    for call in msg["tool_calls"]:
        cmd = json.loads(call["function"]["arguments"])["command"]
        out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True).stdout
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": out})
"""


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="sandbox tests need root")
def test_agent_native_mode_harness_inside_a_real_sandbox():
    """The harness runs inside the sandbox (network "host": a "none" sandbox cannot reach the host's loopback)."""
    from ale.sandbox import SandboxClient, SandboxSpec

    proxy = ModelProxy(ScriptedModel([tc("bash", command="uname -s"), {"content": "done"}]))
    with proxy.serve() as server, SandboxClient() as client:
        sb = client.create(SandboxSpec(network="host", memory="256m"))
        try:
            sb.write_file("/tmp/harness.py", IN_SANDBOX_HARNESS)
            r = sb.exec(["python3", "/tmp/harness.py", server.episode_url("native")], timeout=60)
        finally:
            sb.delete()
    assert r.exit_code == 0 and "ANSWER: done" in r.stdout, r.stderr
    t = proxy.end_episode("native")
    assert t.end_reason == "finished" and t.steps[0]["observation"] == "Linux\n"
