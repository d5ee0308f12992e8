#!/bin/bash
# Attack (memory amplification) on download: sparse files cost no disk, but a host that tars a folder
# reads every byte of their apparent size into memory. 4 x 64 MiB apparent in a 64 MiB sandbox here;
# the same trick with 1 TB files would exhaust the host.
mkdir -p /workspace/bomb
for i in 1 2 3 4; do truncate -s 64M /workspace/bomb/f$i; done
du -sh --apparent-size /workspace/bomb; du -sh /workspace/bomb
echo "VERDICT: BLOCKED"
