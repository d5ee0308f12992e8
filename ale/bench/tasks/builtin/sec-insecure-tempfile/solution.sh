#!/bin/bash
cat > /app/bin/export_users.sh <<'SH'
#!/bin/bash
# Run by root from cron: export the active users of $USERS_CSV (default /app/data/users.csv) as a
# JSON list of {"username": ..., "uid": ...} objects to $EXPORT_DIR/users.json (default
# /srv/export), mode 0644. Exits non-zero (leaving any previous export untouched) on failure.
# The temporary file is created by mktemp in the destination directory (same filesystem, so the
# final mv is an atomic rename) and removed by the EXIT trap on any failure.
set -euo pipefail
USERS_CSV=${USERS_CSV:-/app/data/users.csv}
EXPORT_DIR=${EXPORT_DIR:-/srv/export}

[ -r "$USERS_CSV" ] || { echo "cannot read $USERS_CSV" >&2; exit 1; }
TMP=$(mktemp "$EXPORT_DIR/.users.json.XXXXXX")
trap 'rm -f -- "$TMP"' EXIT
awk -F, 'NR > 1 && $3 == "yes" { printf "%s{\"username\": \"%s\", \"uid\": %d}", (n++ ? ", " : "["), $1, $2 }
         END { if (!n) printf "["; print "]" }' "$USERS_CSV" > "$TMP"
chmod 644 "$TMP"
mv -f -- "$TMP" "$EXPORT_DIR/users.json"
trap - EXIT
SH
cat > /app/bin/stats.py <<'PY'
#!/usr/bin/env python3
"""Run by root from cron: writes user statistics {"total": n, "active": n, "inactive": n} as JSON
to $EXPORT_DIR/stats.json (default /srv/export), mode 0644, from $USERS_CSV (default
/app/data/users.csv). Exits non-zero (leaving any previous stats.json untouched) on failure.
Writes a mkstemp file in the destination directory and renames it over the output (atomic)."""
import csv
import json
import os
import tempfile


def main():
    src = os.environ.get("USERS_CSV", "/app/data/users.csv")
    out_dir = os.environ.get("EXPORT_DIR", "/srv/export")
    with open(src) as fh:
        rows = list(csv.DictReader(fh))
    active = sum(r["active"] == "yes" for r in rows)
    stats = {"total": len(rows), "active": active, "inactive": len(rows) - active}
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".stats.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(stats, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(out_dir, "stats.json"))
    except BaseException:
        os.unlink(tmp)
        raise


if __name__ == "__main__":
    main()
PY
chmod 755 /app/bin/export_users.sh /app/bin/stats.py
