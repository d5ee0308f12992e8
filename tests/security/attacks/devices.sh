#!/bin/bash
# Attack: raw hardware and kernel memory. Create device nodes for the host's disk and /dev/mem, read the
# kernel log, look for real disks in /dev.
escaped=0
esc() { echo "ESCAPED: $*"; escaped=1; }
for spec in "/dev/sda b 8 0" "/tmp/sda b 8 0" "/tmp/vda b 253 0" "/tmp/mem c 1 1" "/tmp/kmsg c 1 11" "/dev/port c 1 4"; do
  set -- $spec
  if mknod "$1" "$2" "$3" "$4" 2>/tmp/err; then
    if head -c 16 "$1" >/dev/null 2>&1; then esc "mknod $spec and read it"; else echo "BLOCKED: mknod $spec made an unusable node"; fi
  else echo "BLOCKED: mknod $spec: $(cat /tmp/err)"; fi
done
for d in /dev/sda /dev/vda /dev/nvme0n1 /dev/mem /dev/kmem /dev/kmsg /dev/port /dev/vsock /dev/kvm /dev/fuse /dev/net/tun; do
  if [ -e "$d" ]; then esc "$d exists in the sandbox"; else echo "BLOCKED: no $d"; fi
done
extra=$(ls /dev | grep -vxE 'null|zero|full|random|urandom|tty|pts|shm|ptmx|fd|stdin|stdout|stderr|mqueue')
if [ -n "$extra" ]; then esc "unexpected device entries: $extra"; else echo "BLOCKED: /dev has only the minimal set"; fi
if head -c 1 /proc/kcore >/dev/null 2>&1; then esc "/proc/kcore readable"; else echo "BLOCKED: /proc/kcore unreadable"; fi
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
