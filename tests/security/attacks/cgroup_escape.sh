#!/bin/bash
# Attack: escape through cgroups (the 2022 release_agent escape: mount a cgroup v1 hierarchy, set
# release_agent to a script, trigger it, and the host kernel runs the script as host root), or move
# ourselves out of the sandbox's cgroup to shed its limits. Also: /sys must not be the host's.
escaped=0
esc() { echo "ESCAPED: $*"; escaped=1; }
if [ -n "$(ls -A /sys 2>/dev/null)" ]; then esc "/sys is populated: $(ls /sys | head -5 | tr '\n' ' ')"; else echo "BLOCKED: /sys is empty"; fi
mkdir -p /tmp/cg
if mount -t cgroup -o memory cgroup /tmp/cg 2>/tmp/e; then esc "mounted the memory cgroup hierarchy"
  if echo /tmp/evil > /tmp/cg/release_agent 2>/dev/null; then esc "set release_agent"; fi
else echo "BLOCKED: mount cgroup: $(head -1 /tmp/e)"; fi
if mount -t cgroup2 none /tmp/cg 2>/tmp/e; then esc "mounted cgroup2"; else echo "BLOCKED: mount cgroup2: $(head -1 /tmp/e)"; fi
for f in /sys/fs/cgroup/memory/release_agent /sys/fs/cgroup/memory/cgroup.procs /sys/fs/cgroup/pids/cgroup.procs \
         /sys/fs/cgroup/cgroup.procs; do
  # only existing files: a redirection would otherwise just create a plain file
  if [ -e "$f" ] && echo "$$" > "$f" 2>/dev/null; then esc "wrote to $f"; else echo "BLOCKED: cannot write $f"; fi
done
# The cgroup path is visible in /proc/self/cgroup; reaching its files from here must not be possible.
cgpath=$(grep -m1 ':memory:' /proc/self/cgroup | cut -d: -f3)
echo "info: memory cgroup path as the kernel shows it: $cgpath"
for base in /sys/fs/cgroup/memory /proc/1/root/sys/fs/cgroup/memory; do
  if [ -e "$base$cgpath/memory.limit_in_bytes" ]; then
    if echo -1 > "$base$cgpath/memory.limit_in_bytes" 2>/dev/null; then esc "lifted our own memory limit via $base"; fi
  fi
done
echo "BLOCKED: own cgroup files not reachable"
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
