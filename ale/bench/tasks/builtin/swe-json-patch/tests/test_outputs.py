import copy
import json
import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from jsonpatch import PatchError, apply_patch  # noqa: E402

# (doc, patch, expected) from RFC 6902 appendix A, plus a few more
OK = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
     {"foo": ["bar", "qux", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
     {"baz": "boo", "foo": "bar"}),
    ({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10},
                          {"op": "replace", "path": "/~1", "value": 1}], {"/": 1, "~1": 10}),
    ({"baz": "qux", "foo": ["a", 2, "c"]}, [{"op": "test", "path": "/baz", "value": "qux"},
                                            {"op": "test", "path": "/foo/1", "value": 2.0}],
     {"baz": "qux", "foo": ["a", 2, "c"]}),
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"},
                       {"op": "replace", "path": "/c/b", "value": 2}], {"a": {"b": 1}, "c": {"b": 2}}),
    ({"a": 1}, [{"op": "add", "path": "", "value": [1, 2]}], [1, 2]),
    ([1, 2], [{"op": "add", "path": "/2", "value": 3}, {"op": "test", "path": "", "value": [1, 2, 3]}],
     [1, 2, 3]),
    ({"x": {"k": 1, "j": [1, {"z": None}]}},
     [{"op": "test", "path": "/x", "value": {"j": [1.0, {"z": None}], "k": 1}}],
     {"x": {"k": 1, "j": [1, {"z": None}]}}),
    ({"a": {"b": {"c": 1}}}, [{"op": "move", "from": "/a/b", "path": "/a/b"}], {"a": {"b": {"c": 1}}}),
    ({"": 5}, [{"op": "replace", "path": "/", "value": 6}], {"": 6}),
]

BAD = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),
    ({"foo": "bar"}, [{"op": "remove", "path": "/nope"}]),
    ({"foo": "bar"}, [{"op": "replace", "path": "/nope", "value": 1}]),
    ({"foo": [1]}, [{"op": "add", "path": "/foo/2", "value": 1}]),
    ({"foo": [1]}, [{"op": "add", "path": "/foo/01", "value": 1}]),
    ({"foo": [1]}, [{"op": "remove", "path": "/foo/-"}]),
    ({"foo": [1]}, [{"op": "remove", "path": "/foo/1"}]),
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),
    ({"b": 1}, [{"op": "test", "path": "/b", "value": True}]),
    ({"foo": "bar"}, [{"op": "frobnicate", "path": "/foo"}]),
    ({"foo": "bar"}, [{"op": "add", "path": "/x"}]),
    ({"foo": "bar"}, [{"op": "remove"}]),
    ({"foo": "bar"}, [{"op": "move", "path": "/x"}]),
    ({"foo": "bar"}, [{"op": "add", "path": "foo", "value": 1}]),
    ({"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}]),
    ({"a": "str"}, [{"op": "add", "path": "/a/b", "value": 1}]),
]


@pytest.mark.parametrize("doc,patch,expected", OK)
def test_apply(doc, patch, expected):
    before, pbefore = copy.deepcopy(doc), copy.deepcopy(patch)
    out = apply_patch(doc, patch)
    assert json.dumps(out, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert doc == before and patch == pbefore


@pytest.mark.parametrize("doc,patch", BAD)
def test_errors(doc, patch):
    before = copy.deepcopy(doc)
    with pytest.raises(PatchError):
        apply_patch(doc, patch)
    assert doc == before


def test_atomic_on_late_failure():
    doc = {"list": [1, 2], "n": 1}
    patch = [{"op": "add", "path": "/list/-", "value": 3}, {"op": "remove", "path": "/n"},
             {"op": "test", "path": "/list", "value": []}]
    with pytest.raises(PatchError):
        apply_patch(doc, patch)
    assert doc == {"list": [1, 2], "n": 1}


def test_no_shared_objects():
    doc = {"a": {"b": [1]}}
    value = {"deep": [1]}
    out = apply_patch(doc, [{"op": "add", "path": "/v", "value": value}])
    out["a"]["b"].append(2)
    out["v"]["deep"].append(2)
    assert doc == {"a": {"b": [1]}} and value == {"deep": [1]}


def test_cli(tmp_path):
    (tmp_path / "d.json").write_text(json.dumps({"a": [1]}))
    (tmp_path / "p.json").write_text(json.dumps([{"op": "add", "path": "/a/0", "value": 0}]))
    r = subprocess.run([sys.executable, "/app/jsonpatch.py", str(tmp_path / "d.json"),
                        str(tmp_path / "p.json")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and json.loads(r.stdout) == {"a": [0, 1]}
    (tmp_path / "p.json").write_text(json.dumps([{"op": "remove", "path": "/zzz"}]))
    r = subprocess.run([sys.executable, "/app/jsonpatch.py", str(tmp_path / "d.json"),
                        str(tmp_path / "p.json")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.strip() and not r.stdout.strip()
