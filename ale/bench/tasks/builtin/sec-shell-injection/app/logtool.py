"""Ops helper used by the web admin panel: file names and patterns come from users."""
import os
import subprocess
import sys


def count_matches(path, pattern):
    """Number of lines of the file `path` that contain `pattern` as a fixed string (not a regex).
    A missing file raises FileNotFoundError."""
    out = os.popen(f"grep -c '{pattern}' {path}").read()
    return int(out.strip() or 0)


def archive(paths, dest):
    """Create the gzip-compressed tar archive `dest` holding the given files, stored under the
    relative paths exactly as given (relative to the current directory). Raises
    subprocess.CalledProcessError if tar fails."""
    os.system(f"tar czf {dest} {' '.join(paths)}")


def file_size(path):
    """Size of the file in bytes, as reported by `stat -c %s`."""
    out = subprocess.check_output(f"stat -c %s {path}", shell=True)
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
