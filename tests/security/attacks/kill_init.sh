#!/bin/bash
# Attack: kill the sandbox's init (PID 1). It holds the host's control channel; if it died, the sandbox
# would be gone (denial of service on the harness) or, worse, orphans would escape supervision.
# Every signal an unprivileged process can send; `kill -9 -1` kills everything else we can see.
escaped=0
for sig in KILL TERM INT HUP QUIT SEGV ABRT STOP USR1; do
  kill -s $sig 1 2>/dev/null
done
sleep 0.2
state=$(awk '/^State:/ {print $2}' /proc/1/status)
if [ "$state" = T ]; then echo "ESCAPED: init is stopped"; escaped=1; kill -CONT 1; else echo "BLOCKED: init state $state after the signals"; fi
if [ -d /proc/1 ]; then echo "BLOCKED: init is still alive"; else echo "ESCAPED: init is gone"; escaped=1; fi
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
# Last: take down every process we can see (this shell included). The host must still talk to init.
kill -9 -1
