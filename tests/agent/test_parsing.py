import json

import pytest

from ale.agent.parsing import FormatError, parse_tool_calls, text_tool_instructions
from ale.agent.tools import TOOLS


def native(name, args, id="c1"):
    return {"id": id, "type": "function", "function": {"name": name, "arguments": args}}


def test_native_tool_calls():
    calls = parse_tool_calls({"content": None, "tool_calls": [native("bash", '{"command": "ls"}'),
                                                               native("finish", "", id="c2")]})
    assert [(c.name, c.arguments, c.id) for c in calls] == [("bash", {"command": "ls"}, "c1"), ("finish", {}, "c2")]


def test_native_bad_json_is_a_format_error():
    with pytest.raises(FormatError, match="not valid JSON"):
        parse_tool_calls({"tool_calls": [native("bash", '{"command": ')]})
    with pytest.raises(FormatError, match="JSON object"):
        parse_tool_calls({"tool_calls": [native("bash", '["ls"]')]})
    with pytest.raises(FormatError, match="no function name"):
        parse_tool_calls({"tool_calls": [{"id": "x", "function": {"arguments": "{}"}}]})


def test_hermes_text_calls_several_and_think_stripped():
    text = ('<think>maybe <tool_call>{"name": "nope"}</tool_call></think>Let me look.\n'
            '<tool_call>\n{"name": "bash", "arguments": {"command": "ls -la"}}\n</tool_call>\n'
            '<tool_call>{"name": "read_file", "arguments": "{\\"path\\": \\"a.txt\\"}"}</tool_call>')
    calls = parse_tool_calls({"content": text})
    assert [(c.name, c.arguments, c.id) for c in calls] == [("bash", {"command": "ls -la"}, None),
                                                            ("read_file", {"path": "a.txt"}, None)]


def test_hermes_missing_close_tag_at_end_is_accepted():
    calls = parse_tool_calls({"content": '<tool_call>{"name": "finish", "parameters": {"summary": "ok"}}'})
    assert calls[0].name == "finish" and calls[0].arguments == {"summary": "ok"}


@pytest.mark.parametrize("body,match", [
    ('{"name": "bash", "arguments": {"command": "ls"}', "not valid JSON"),
    ('{"arguments": {}}', '"name" string'),
    ('["bash"]', '"name" string'),
    ('{"name": "bash", "arguments": 3}', "JSON object"),
])
def test_hermes_malformed(body, match):
    with pytest.raises(FormatError, match=match):
        parse_tool_calls({"content": f"<tool_call>{body}</tool_call>"})


def test_bash_block_fallback():
    calls = parse_tool_calls({"content": "I will list.\n```bash\nls -la\ncat x\n```\n"})
    assert calls[0].name == "bash" and calls[0].arguments == {"command": "ls -la\ncat x"}
    assert parse_tool_calls({"content": "```bash\nsubmit\n```"})[0].name == "finish"
    with pytest.raises(FormatError, match="exactly one"):
        parse_tool_calls({"content": "```bash\nls\n```\n```bash\npwd\n```"})
    with pytest.raises(FormatError, match="empty"):
        parse_tool_calls({"content": "```bash\n\n```"})


def test_no_call_is_a_format_error():
    for content in ["Sure, I can help.", "", None, "```python\nprint(1)\n```"]:
        with pytest.raises(FormatError, match="no tool call found"):
            parse_tool_calls({"content": content})


def test_text_instructions_list_every_tool():
    text = text_tool_instructions([t.schema() for t in TOOLS.values()])
    body = text.split("<tools>\n")[1].split("\n</tools>")[0]
    assert [json.loads(line)["name"] for line in body.splitlines()] == list(TOOLS)
