#!/bin/bash
# Attack (guard): fill the disk, hoping it is the host's. The writable layer must end at the sandbox's
# disk limit (ENOSPC) without touching the host's disk; the guard records it. (Errors go to /dev/shm:
# / is full.)
if dd if=/dev/zero of=/tmp/fill bs=1M count=4096 2>/dev/shm/e; then echo "ESCAPED: wrote 4 GiB"; exit 1; fi
echo "BLOCKED: $(tail -1 /dev/shm/e | cut -c1-80): $(grep -o 'No space left on device' /dev/shm/e | head -1)"
df -B1 / | tail -1
echo "VERDICT: BLOCKED"
