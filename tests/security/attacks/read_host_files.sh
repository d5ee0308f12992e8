#!/bin/bash
# Attack: read host files. $1 = a host directory holding secret.txt, $2 = the secret's text,
# $3 = sha256 of the host's /etc/shadow.
# Tries the path directly, through /proc/1/root, /proc/self/root, `..` chains, and looks for host-only
# places (/work, /root of the host, the ALE state dir, other sandboxes' run dirs).
canary_dir=$1 secret=$2 host_shadow=$3 escaped=0
esc() { echo "ESCAPED: $*"; escaped=1; }
for p in "$canary_dir/secret.txt" "/proc/1/root$canary_dir/secret.txt" "/proc/self/root$canary_dir/secret.txt" \
         "/../../../..$canary_dir/secret.txt" "/proc/1/cwd/../../..$canary_dir/secret.txt"; do
  if out=$(cat "$p" 2>&1) && [[ $out == *"$secret"* ]]; then esc "read host canary via $p"; else echo "BLOCKED: $p: ${out:0:80}"; fi
done
for d in /work /work/main /var/lib/ale /var/lib/ale/run /home/cloudsdk /root/.ssh /etc/ale; do
  if [ -e "$d" ]; then
    if [ "$d" = /root/.ssh ] && [ -z "$(ls -A "$d")" ]; then echo "BLOCKED: $d is the image's own, empty"; continue; fi
    esc "host path $d is visible: $(ls "$d" 2>&1 | head -3 | tr '\n' ' ')"
  else echo "BLOCKED: $d does not exist here"; fi
done
if [ "$(sha256sum < /etc/shadow | cut -d' ' -f1)" = "$host_shadow" ]; then esc "/etc/shadow is the host's"; else echo "BLOCKED: /etc/shadow is the image's, not the host's"; fi
# Find the secret anywhere reachable (proc/sys excluded: /proc/kcore and friends are not files).
if grep -rlsF --exclude-dir=proc --exclude-dir=sys -- "$secret" / 2>/dev/null | grep -v '^/attack/' | head -1 | grep -q .; then
  esc "secret found on the sandbox's filesystem"; else echo "BLOCKED: secret not found anywhere under /"; fi
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
