"""`ale traj view`: the HTML viewer, checked in headless Chromium (DOM and a screenshot)."""
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request

import pytest

from ale.agent import Agent, AgentConfig
from ale.agent.viewer import serve_viewer
from .agent_testkit import LocalEnvironment, TokenScriptedModel, make_tiny_tokenizer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def call(name, **args):
    return f'<tool_call>{json.dumps({"name": name, "arguments": args})}</tool_call>'


@pytest.fixture
def traj_file(tmp_path):
    """A real harness episode: LocalEnvironment and TokenScriptedModel are the testkit FAKES."""
    env = LocalEnvironment(tmp_path, guard_on="MINER")
    replies = ["I will write the file first.\n" + call("write_file", path="app.py", content="x = 1\ny = 2\n"),
               call("edit", path="app.py", old_string="y = 2", new_string="y = 3  # fixed"),
               call("bash", command="cat app.py"),
               call("bash", command="./MINER --pool evil")]
    t = Agent(TokenScriptedModel(make_tiny_tokenizer(), replies), env, AgentConfig(max_steps=10)).run("fix app.py <b>now</b>")
    assert t.end_reason == "guard_stop"
    t.reward = 0.0
    path = tmp_path / "t.json"
    t.save(path)
    return path


def chromium(*args):
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync", "--no-first-run",
                               f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=90)


def test_pages_render_without_a_browser(traj_file, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    server = serve_viewer([traj_file, bad])
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        index = urllib.request.urlopen(base + "/").read().decode()
        assert "guard_stop" in index and "not a trajectory file" in index
        page = urllib.request.urlopen(base + "/t/0").read().decode()
        assert "fix app.py &lt;b&gt;now&lt;/b&gt;" in page  # text is escaped, never interpreted
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/t/9")
    finally:
        server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (apt-get install -y chromium)")
def test_viewer_in_headless_chromium(traj_file, tmp_path):
    server = serve_viewer([traj_file])
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/t/0"
        r = chromium("--dump-dom", url)
        dom = r.stdout
        assert r.returncode == 0 and "<html" in dom, r.stderr[-2000:]
        assert dom.count("class=\"turn\"") == 4  # one box per model turn
        assert dom.count('class="step') == 4 and dom.count('class="step error"') == 1 and "class=\"event guard\"" in dom
        assert '<span class="add">+y = 3  # fixed</span>' in dom and '<span class="del">-y = 2</span>' in dom
        assert '<span class="add">+x = 1</span>' in dom  # write_file of a new file: all lines added
        assert "reward 0.0" in dom and "guard_stop" in dom and "$ cat app.py" in dom
        assert "chunk: sequence 0 tokens [" in dom and "class=\"sequences\"" in dom
        shot = tmp_path / "viewer.png"
        r = chromium(f"--screenshot={shot}", "--window-size=1280,900", url)
        assert shot.exists() and shot.stat().st_size > 10_000, r.stderr[-2000:]
        if os.environ.get("ALE_KEEP_SCREENSHOT"):
            shutil.copy(shot, os.environ["ALE_KEEP_SCREENSHOT"])
    finally:
        server.shutdown()
