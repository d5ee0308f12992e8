#!/bin/bash
cat > /app/logtool.py <<'PY'
"""Ops helper used by the web admin panel: file names and patterns come from users.
Every external command gets an argument list (no shell) and "--" before user-supplied operands."""
import subprocess
import sys


def count_matches(path, pattern):
    """Number of lines of the file `path` that contain `pattern` as a fixed string (not a regex).
    A missing file raises FileNotFoundError."""
    with open(path, "rb") as fh:
        needle = pattern.encode()
        return sum(1 for line in fh if needle in line)


def archive(paths, dest):
    """Create the gzip-compressed tar archive `dest` holding the given files, stored under the
    relative paths exactly as given (relative to the current directory). Raises
    subprocess.CalledProcessError if tar fails."""
    # ./ prefix keeps a leading dash from being read as an option; --transform drops it again
    dest_arg = dest if dest.startswith("/") else "./" + dest
    operands = [p if p.startswith("/") else "./" + p for p in paths]
    subprocess.run(["tar", "czf", dest_arg, "--transform", "s,^\\./,,", "--", *operands], check=True)


def file_size(path):
    """Size of the file in bytes, as reported by `stat -c %s`."""
    out = subprocess.check_output(["stat", "-c", "%s", "--", path])
    return int(out.strip())


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "count":
        print(count_matches(args[1], args[0]))
    elif cmd == "archive":
        archive(args[1:], args[0])
    elif cmd == "size":
        print(file_size(args[0]))
    else:
        sys.exit(f"unknown command {cmd}")
PY
