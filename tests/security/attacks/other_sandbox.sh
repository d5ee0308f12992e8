#!/bin/bash
# Attack: find another sandbox's data or processes. $1 = a file holding the secret another sandbox wrote
# to its files and passed to a process of its own (a file, so that no process of ours carries it).
# Search every file and every process we can see.
needle=$1 escaped=0
if grep -rlsF --exclude-dir=proc --exclude-dir=sys -f "$needle" / 2>/dev/null | grep -v "^/attack/" | head -1 | grep -q .; then
  echo "ESCAPED: the other sandbox's secret is in our filesystem"; escaped=1
else echo "BLOCKED: secret not in any file here"; fi
if grep -lsF -f "$needle" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | grep -v "/proc/$$/" | grep -q .; then
  echo "ESCAPED: the other sandbox's process is visible"; escaped=1
else echo "BLOCKED: no process of the other sandbox visible"; fi
for p in /var/lib/ale/run /proc/1/root/var/lib/ale /dev/shm; do
  if grep -rlsF -- "$secret" "$p" 2>/dev/null | grep -q .; then echo "ESCAPED: found under $p"; escaped=1; else echo "BLOCKED: nothing under $p"; fi
done
if ipcs -m 2>/dev/null | grep -q '^0x'; then echo "ESCAPED: foreign SysV shared memory visible"; escaped=1; else echo "BLOCKED: no SysV shm visible"; fi
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
