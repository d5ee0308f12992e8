#!/usr/bin/env python3
"""Run by root from cron: writes user statistics {"total": n, "active": n, "inactive": n} as JSON
to $EXPORT_DIR/stats.json (default /srv/export), mode 0644, from $USERS_CSV (default
/app/data/users.csv). Exits non-zero (leaving any previous stats.json untouched) on failure."""
import csv
import json
import os
import shutil

CACHE = "/tmp/stats_cache.json"


def main():
    src = os.environ.get("USERS_CSV", "/app/data/users.csv")
    out_dir = os.environ.get("EXPORT_DIR", "/srv/export")
    with open(src) as fh:
        rows = list(csv.DictReader(fh))
    active = sum(r["active"] == "yes" for r in rows)
    stats = {"total": len(rows), "active": active, "inactive": len(rows) - active}
    with open(CACHE, "w") as fh:
        json.dump(stats, fh)
    os.chmod(CACHE, 0o644)
    shutil.copy(CACHE, os.path.join(out_dir, "stats.json"))
    os.remove(CACHE)


if __name__ == "__main__":
    main()
