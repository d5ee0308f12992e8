#!/bin/bash
cat > /app/ini2json.py <<'PY'
import json
import re
import sys


class ConfigError(Exception):
    pass


def parse(text):
    secs = {"DEFAULT": {}}
    cur, last = "DEFAULT", None
    for line in text.splitlines():
        if not line.strip() or line.lstrip()[0] in ";#":
            continue
        if line[0].isspace():
            if last is None:
                raise ConfigError("continuation line without an entry")
            secs[cur][last] += "\n" + line.strip()
            continue
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            cur, last = s[1:-1].strip(), None
            secs.setdefault(cur, {})
            continue
        m = re.search(r"[=:]", s)
        if not m:
            raise ConfigError(f"bad line: {s}")
        last = s[: m.start()].strip().lower()
        secs[cur][last] = s[m.end():].strip()
    return secs


def resolve(secs):
    def get(sec, key, stack):
        if (sec, key) in stack:
            raise ConfigError(f"reference cycle at {sec}:{key}")
        if key in secs.get(sec, {}):
            raw = secs[sec][key]
        elif sec in secs and key in secs["DEFAULT"]:
            raw = secs["DEFAULT"][key]
        else:
            raise ConfigError(f"missing reference {sec}:{key}")
        stack = stack | {(sec, key)}

        def sub(m):
            if m.group(0) == "$$":
                return "$"
            ref = m.group(1)
            if ":" in ref:
                s2, k2 = ref.split(":", 1)
                return get(s2, k2.lower(), stack)
            return get(sec, ref.lower(), stack)

        return re.sub(r"\$\$|\$\{([^}]*)\}", sub, raw)

    out = {}
    for sec in secs:
        if sec == "DEFAULT":
            continue
        keys = list(secs[sec]) + [k for k in secs["DEFAULT"] if k not in secs[sec]]
        out[sec] = {}
        for k in keys:
            v = get(sec, k, frozenset())
            if v.lower() in ("true", "false"):
                v = v.lower() == "true"
            elif re.fullmatch(r"-?[0-9]+", v):
                v = int(v)
            out[sec][k] = v
    return out


def main():
    try:
        result = resolve(parse(open(sys.argv[1]).read()))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
PY
