#!/bin/bash
cat > /app/iniparse.py <<'PY'
"""Strict INI parser (see task spec)."""


class ParseError(ValueError):
    def __init__(self, lineno, msg):
        super().__init__(f"line {lineno}: {msg}")
        self.lineno = lineno


_ESC = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def _unquote(raw, lineno):
    out, i = [], 1
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            if i + 1 >= len(raw) or raw[i + 1] not in _ESC:
                raise ParseError(lineno, "bad escape")
            out.append(_ESC[raw[i + 1]])
            i += 2
        elif ch == '"':
            if raw[i + 1:].strip():
                raise ParseError(lineno, "text after closing quote")
            return "".join(out)
        else:
            out.append(ch)
            i += 1
    raise ParseError(lineno, "missing closing quote")


def parse(text):
    result = {}
    section = ""
    last_key = None  # key that may take a continuation line
    for lineno, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] in ";#":
            continue
        if line[0].isspace():
            if last_key is None:
                raise ParseError(lineno, "unexpected continuation line")
            result[section][last_key] += "\n" + stripped
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise ParseError(lineno, "bad section header")
            name = stripped[1:-1].strip()
            if not name or "[" in name or "]" in name:
                raise ParseError(lineno, "bad section name")
            if name in result:
                raise ParseError(lineno, f"duplicate section {name!r}")
            result[name] = {}
            section, last_key = name, None
            continue
        cut = [i for i in (line.find("="), line.find(":")) if i >= 0]
        if not cut:
            raise ParseError(lineno, "expected key = value")
        i = min(cut)
        key, value = line[:i].strip().lower(), line[i + 1:].strip()
        if not key:
            raise ParseError(lineno, "empty key")
        sec = result.setdefault(section, {})
        if key in sec:
            raise ParseError(lineno, f"duplicate key {key!r}")
        if value.startswith('"'):
            sec[key] = _unquote(value, lineno)
            last_key = None
        else:
            sec[key] = value
            last_key = key
    return result
PY
