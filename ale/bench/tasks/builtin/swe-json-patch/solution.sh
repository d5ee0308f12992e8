#!/bin/bash
cat > /app/jsonpatch.py <<'PY'
"""RFC 6902 JSON Patch over RFC 6901 JSON Pointers; works on a deep copy so failures are atomic."""
import copy
import json
import re
import sys


class PatchError(Exception):
    pass


_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


def _tokens(ptr):
    if not isinstance(ptr, str):
        raise PatchError("pointer must be a string")
    if ptr == "":
        return []
    if not ptr.startswith("/"):
        raise PatchError(f"malformed pointer {ptr!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]


def _index(container, tok, allow_end):
    if allow_end and tok == "-":
        return len(container)
    if not _INDEX.match(tok):
        raise PatchError(f"bad array index {tok!r}")
    i = int(tok)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"array index {i} out of range")
    return i


def _walk(doc, toks):
    for tok in toks:
        if isinstance(doc, dict):
            if tok not in doc:
                raise PatchError(f"no such key {tok!r}")
            doc = doc[tok]
        elif isinstance(doc, list):
            doc = doc[_index(doc, tok, False)]
        else:
            raise PatchError("cannot walk into a scalar")
    return doc


def _get(doc, ptr):
    return _walk(doc, _tokens(ptr))


def _add(doc, ptr, value):
    toks = _tokens(ptr)
    if not toks:
        return value
    parent = _walk(doc, toks[:-1])
    last = toks[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, True), value)
    else:
        raise PatchError("parent is not a container")
    return doc


def _remove(doc, ptr):
    toks = _tokens(ptr)
    if not toks:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, toks[:-1])
    last = toks[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"no such key {last!r}")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, False))
    raise PatchError("parent is not a container")


def _equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _field(op, name):
    if name not in op:
        raise PatchError(f"operation {op.get('op')!r} needs {name!r}")
    return op[name]


def apply_patch(doc, patch):
    if not isinstance(patch, list):
        raise PatchError("patch must be a list")
    doc = copy.deepcopy(doc)
    for op in patch:
        if not isinstance(op, dict):
            raise PatchError("operation must be an object")
        kind = op.get("op")
        path = _field(op, "path")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(_field(op, "value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            value = copy.deepcopy(_field(op, "value"))
            if not _tokens(path):
                doc = value
            else:
                _get(doc, path)
                _remove(doc, path)
                doc = _add(doc, path, value)
        elif kind == "move":
            src = _field(op, "from")
            _tokens(src)
            if path != src and path.startswith(src + "/"):
                raise PatchError("cannot move a value into its own child")
            if path == src:
                _get(doc, src)
                continue
            value = _remove(doc, src) if _tokens(src) else doc
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, _field(op, "from"))))
        elif kind == "test":
            if not _equal(_get(doc, path), _field(op, "value")):
                raise PatchError(f"test failed at {path!r}")
        else:
            raise PatchError(f"unknown op {kind!r}")
    return doc


if __name__ == "__main__":
    try:
        with open(sys.argv[1]) as fh:
            d = json.load(fh)
        with open(sys.argv[2]) as fh:
            p = json.load(fh)
        print(json.dumps(apply_patch(d, p)))
    except (PatchError, OSError, ValueError, IndexError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
PY
