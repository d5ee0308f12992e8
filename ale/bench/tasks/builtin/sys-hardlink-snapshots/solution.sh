#!/bin/bash
cat > /usr/local/bin/snapshot <<'PY'
#!/usr/bin/env python3
"""Hard-link snapshots: unchanged files (size, mtime seconds, mode) link to the previous snapshot."""
import os
import shutil
import stat
import sys


def main(argv):
    keep = None
    if argv[:1] == ["--keep"]:
        keep, argv = int(argv[1]), argv[2:]
    src, dest, name = argv
    os.makedirs(dest, exist_ok=True)
    target = os.path.join(dest, name)
    if os.path.lexists(target):
        print(f"snapshot: {target} already exists", file=sys.stderr)
        return 2
    latest = os.path.join(dest, "latest")
    prev = os.path.realpath(latest) if os.path.islink(latest) else None
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        out_dir = os.path.normpath(os.path.join(target, rel))
        os.makedirs(out_dir, exist_ok=True)
        for n in sorted(dirs + files):
            s = os.path.join(root, n)
            d = os.path.join(out_dir, n)
            st = os.lstat(s)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(s), d)
                if n in dirs:
                    dirs.remove(n)  # os.walk would not descend anyway; keep it explicit
            elif stat.S_ISREG(st.st_mode):
                p = os.path.normpath(os.path.join(prev, rel, n)) if prev else None
                if p and os.path.isfile(p) and not os.path.islink(p):
                    pst = os.lstat(p)
                    if (pst.st_size == st.st_size and int(pst.st_mtime) == int(st.st_mtime)
                            and stat.S_IMODE(pst.st_mode) == stat.S_IMODE(st.st_mode)):
                        os.link(p, d)
                        continue
                shutil.copy2(s, d, follow_symlinks=False)
    # directory modes/times after their contents are in place
    for root, dirs, _ in os.walk(src):
        for n in dirs + ["."]:
            s = os.path.normpath(os.path.join(root, n))
            d = os.path.normpath(os.path.join(target, os.path.relpath(s, src)))
            if os.path.isdir(d) and not os.path.islink(d):
                shutil.copystat(s, d)
    tmp = latest + ".tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(name, tmp)
    os.replace(tmp, latest)
    if keep:
        snaps = sorted((e for e in os.listdir(dest) if e != "latest" and os.path.isdir(os.path.join(dest, e))
                        and not os.path.islink(os.path.join(dest, e))), key=lambda e: e.encode())
        for old in snaps[: max(0, len(snaps) - keep)]:
            shutil.rmtree(os.path.join(dest, old))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
PY
chmod 0755 /usr/local/bin/snapshot
/usr/local/bin/snapshot /srv/home /backup 2024-06-01
