#!/bin/bash
# Attack: reconfigure the host kernel through /proc. core_pattern with a pipe runs a program as host root
# on the next crash (a known escape); sysrq-trigger can crash or reboot the host; drop_caches and the
# hostname are global.
escaped=0
try_write() {  # path value
  if [ ! -e "$1" ]; then echo "BLOCKED: $1 does not exist here"; return; fi
  if { echo "$2" > "$1"; } 2>/tmp/e; then echo "ESCAPED: wrote '$2' to $1"; escaped=1
  else echo "BLOCKED: write $1: $(sed 's/.*: //' /tmp/e)"; fi
}
try_write /proc/sys/kernel/core_pattern '|/tmp/evil %p'
try_write /proc/sysrq-trigger h   # 'h' only prints help: harmless if it ever got through
try_write /proc/sys/vm/drop_caches 1
try_write /proc/sys/kernel/hostname ale-pwned
try_write /proc/sys/kernel/modprobe /tmp/evil
try_write /proc/sys/kernel/panic_on_oops 1
try_write /proc/sys/fs/inotify/max_user_instances 1
try_write /proc/self/oom_score_adj -1000   # lowering it needs CAP_SYS_RESOURCE: keep the host's OOM order
try_write /proc/1/oom_score_adj -1000
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
