#!/bin/bash
# Run by root from cron: export the active users of $USERS_CSV (default /app/data/users.csv) as a
# JSON list of {"username": ..., "uid": ...} objects to $EXPORT_DIR/users.json (default
# /srv/export), mode 0644. Exits non-zero (leaving any previous export untouched) on failure.
USERS_CSV=${USERS_CSV:-/app/data/users.csv}
EXPORT_DIR=${EXPORT_DIR:-/srv/export}
TMP=/tmp/export_users.tmp

[ -r "$USERS_CSV" ] || { echo "cannot read $USERS_CSV" >&2; exit 1; }
awk -F, 'NR > 1 && $3 == "yes" { printf "%s{\"username\": \"%s\", \"uid\": %d}", (n++ ? ", " : "["), $1, $2 }
         END { if (!n) printf "["; print "]" }' "$USERS_CSV" > $TMP
chmod 644 $TMP
cp $TMP "$EXPORT_DIR/users.json"
rm -f $TMP
