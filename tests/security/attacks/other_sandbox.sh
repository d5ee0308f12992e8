#!/bin/bash
# Attack: find another sandbox's data or processes. $1 = a secret another sandbox wrote to its files and
# passed to a process of its own. Search every file and every process we can see.
secret=$1 escaped=0
printf %s "$secret" > /tmp/needle  # grep -f: the secret is not in grep's own command line
if grep -rlsF --exclude-dir=proc --exclude-dir=sys -f /tmp/needle / 2>/dev/null | grep -v -e '^/attack/' -e '^/tmp/needle$' | head -1 | grep -q .; then
  echo "ESCAPED: the other sandbox's secret is in our filesystem"; escaped=1
else echo "BLOCKED: secret not in any file here"; fi
if grep -lsF -f /tmp/needle /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | grep -v "/proc/$$/" | grep -q .; then
  echo "ESCAPED: the other sandbox's process is visible"; escaped=1
else echo "BLOCKED: no process of the other sandbox visible"; fi
for p in /var/lib/ale/run /proc/1/root/var/lib/ale /dev/shm; do
  if grep -rlsF -- "$secret" "$p" 2>/dev/null | grep -q .; then echo "ESCAPED: found under $p"; escaped=1; else echo "BLOCKED: nothing under $p"; fi
done
if ipcs -m 2>/dev/null | grep -q '^0x'; then echo "ESCAPED: foreign SysV shared memory visible"; escaped=1; else echo "BLOCKED: no SysV shm visible"; fi
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
