import json

from ale.agent.protocols import ToolCall
from ale.agent.tools import TOOLS, ToolContext, run_tool


def call(ctx, name, **args):
    return run_tool(ToolCall(name, args), ctx)


def test_every_tool_has_a_valid_openai_schema():
    for name, tool in TOOLS.items():
        s = tool.schema()
        assert s["type"] == "function" and s["function"]["name"] == name
        params = s["function"]["parameters"]
        assert params["type"] == "object"
        assert set(params["required"]) <= set(params["properties"])
        json.dumps(s)


def test_bash_persists_cwd_and_reports_exit_code(env):
    ctx = ToolContext(env)
    assert call(ctx, "bash", command="mkdir sub && cd sub && export X=42").exit_code == 0
    o = call(ctx, "bash", command="pwd; echo $X; false")
    assert o.text.splitlines()[0].endswith("/ws/sub") and "42" in o.text
    assert "[exit code: 1]" in o.text and o.error


def test_bash_timeout_is_an_observation(env):
    ctx = ToolContext(env, command_timeout=0.5)
    o = call(ctx, "bash", command="echo started; sleep 5")
    assert o.error and "time limit" in o.text and o.extra["status"] == "timeout"


def test_bash_timeout_argument_is_capped_by_the_harness(env):
    ctx = ToolContext(env, command_timeout=0.5)
    o = call(ctx, "bash", command="sleep 3", timeout=100)
    assert o.extra["status"] == "timeout" and o.extra["command_s"] < 2.5


def test_read_file_line_ranges(env):
    ctx = ToolContext(env)
    env.write_file("f.txt", "a\nb\nc\nd\n")
    assert call(ctx, "read_file", path="f.txt").text.split("\n") == [f"{i:6d}\t{c}" for i, c in enumerate("abcd", 1)]
    o = call(ctx, "read_file", path="f.txt", start_line=2, end_line=3)
    assert o.text == "     2\tb\n     3\tc"
    assert "only 4 lines" in call(ctx, "read_file", path="f.txt", start_line=9).text
    assert "bad line range" in call(ctx, "read_file", path="f.txt", start_line=3, end_line=2).text
    missing = call(ctx, "read_file", path="nope.txt")
    assert missing.error and "cannot read nope.txt" in missing.text


def test_write_file_creates_parents(env):
    ctx = ToolContext(env)
    o = call(ctx, "write_file", path="a/b/c.txt", content="hi")
    assert not o.error and env.read_file("a/b/c.txt") == "hi"


def test_edit_exact_replace_and_clear_errors(env):
    ctx = ToolContext(env)
    env.write_file("f.py", "x = 1\ny = 1\nx = 1\n")
    o = call(ctx, "edit", path="f.py", old_string="y = 1", new_string="y = 2")
    assert not o.error and env.read_file("f.py") == "x = 1\ny = 2\nx = 1\n"
    o = call(ctx, "edit", path="f.py", old_string="z = 1", new_string="z = 2")
    assert o.error and "not found" in o.text
    o = call(ctx, "edit", path="f.py", old_string="x = 1", new_string="x = 3")
    assert o.error and "occurs 2 times" in o.text and env.read_file("f.py").count("x = 1") == 2
    o = call(ctx, "edit", path="f.py", old_string="x = 1", new_string="x = 3", replace_all=True)
    assert not o.error and "2 replacements" in o.text and env.read_file("f.py") == "x = 3\ny = 2\nx = 3\n"
    assert "identical" in call(ctx, "edit", path="f.py", old_string="y", new_string="y").text


def test_multi_edit_is_all_or_nothing(env):
    ctx = ToolContext(env)
    env.write_file("f.txt", "alpha beta gamma")
    o = call(ctx, "multi_edit", path="f.txt", edits=[{"old_string": "alpha", "new_string": "A"},
                                                      {"old_string": "delta", "new_string": "D"}])
    assert o.error and "edit 2 of 2" in o.text and "no edits were applied" in o.text
    assert env.read_file("f.txt") == "alpha beta gamma"
    o = call(ctx, "multi_edit", path="f.txt", edits=[{"old_string": "alpha", "new_string": "A"},
                                                      {"old_string": "A beta", "new_string": "AB"}])
    assert not o.error and env.read_file("f.txt") == "AB gamma"


def test_glob_and_grep(env):
    ctx = ToolContext(env)
    env.write_file("src/a.py", "def foo():\n    return 1\n")
    env.write_file("src/pkg/b.py", "FOO = 2\n")
    env.write_file("notes.md", "foo bar\n")
    env.write_file(".git/x.py", "foo\n")
    call(ctx, "bash", command="cd src/pkg")  # the agent's shell moved: search paths stay workdir-relative
    assert call(ctx, "glob", pattern="**/*.py").text.split("\n") == ["src/a.py", "src/pkg/b.py"]
    assert call(ctx, "glob", pattern="*.py", path="src").text == "a.py"
    assert call(ctx, "glob", pattern="*.rs").text == "no files match"
    o = call(ctx, "grep", pattern="foo", include="*.py")
    assert o.text == "./src/a.py:1:def foo():"
    assert len(call(ctx, "grep", pattern="foo", ignore_case=True).text.splitlines()) == 3
    assert call(ctx, "grep", pattern="zzz").text == "no matches"
    bad = call(ctx, "grep", pattern="(")
    assert bad.error and "grep failed" in bad.text
    assert call(ctx, "bash", command="pwd").text.startswith(env.workdir + "/src/pkg")  # shell cwd untouched


def test_todo_keeps_the_plan_and_validates(env):
    ctx = ToolContext(env)
    o = call(ctx, "todo", items=[{"content": "read code", "status": "completed"}, {"content": "fix bug"}])
    assert "[x] read code" in o.text and "[ ] fix bug" in o.text
    assert ctx.todo == [{"content": "read code", "status": "completed"}, {"content": "fix bug", "status": "pending"}]
    bad = call(ctx, "todo", items=[{"content": "x", "status": "done"}])
    assert bad.error and "status must be one of" in bad.text and len(ctx.todo) == 2


def test_finish_and_submit(env):
    ctx = ToolContext(env)
    assert call(ctx, "finish", summary="done it").finished
    assert call(ctx, "submit").finished


def test_argument_validation_errors_are_observations(env):
    ctx = ToolContext(env)
    assert "unknown tool 'rm_rf'" in call(ctx, "rm_rf").text
    assert "missing required argument(s): command" in call(ctx, "bash").text
    assert "unknown argument(s): cmd" in call(ctx, "bash", command="ls", cmd="ls").text
    assert "must be of type integer" in call(ctx, "read_file", path="x", start_line="3").text
    assert "must be a JSON object" in run_tool(ToolCall("bash", ["ls"]), ctx).text  # type: ignore[arg-type]


def test_environment_exception_becomes_error_observation(env):
    class Broken:
        workdir = "/"

        def run(self, *a, **k):
            raise ConnectionError("sandbox gone")

    o = run_tool(ToolCall("bash", {"command": "ls"}), ToolContext(Broken()))  # type: ignore[arg-type]
    assert o.error and "ConnectionError: sandbox gone" in o.text
