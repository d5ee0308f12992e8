#!/bin/bash
# Attack: see and kill host processes. $1 = the host pid of a canary process the test started.
# The pid namespace must hide every host process; signals to host pids must go nowhere.
canary=$1 escaped=0
n=$(ls -d /proc/[0-9]* | wc -l)
if [ "$n" -gt 20 ]; then echo "ESCAPED: $n processes visible"; escaped=1; else echo "BLOCKED: only $n processes visible"; fi
# PID 1 is the sandbox's own init (its command line names host paths: an information leak, not a process).
printf '%s\n' pytest sshd systemd uvicorn raylet > /tmp/host-names  # -f: not in grep's own command line
if ls /proc/[0-9]*/cmdline | grep -v '^/proc/1/' | xargs grep -ls -f /tmp/host-names | grep -q .; then
  echo "ESCAPED: host process visible: $(ls /proc/[0-9]*/cmdline | grep -v '^/proc/1/' | xargs grep -ls -f /tmp/host-names | head -3)"; escaped=1
else echo "BLOCKED: no host command line visible"; fi
if kill -9 "$canary" 2>/tmp/e; then echo "info: kill -9 $canary hit a process of this sandbox"; else echo "BLOCKED: kill -9 $canary: $(cat /tmp/e)"; fi
# Sweep every pid number the host might use.
for pid in $(seq 2 4096) "$canary"; do [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null; done
echo "BLOCKED: swept pids 2..4096 (host checks its canary)"
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
