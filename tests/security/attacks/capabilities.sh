#!/bin/bash
# Attack (reconnaissance): which privileges does a sandbox process hold? Any capability, a missing
# no_new_privs or a missing seccomp filter is an open door for the other attacks.
escaped=0
while read -r key val; do
  case $key in
    CapInh:|CapPrm:|CapEff:|CapBnd:|CapAmb:)
      if [ "$val" = 0000000000000000 ]; then echo "BLOCKED: $key $val"; else echo "ESCAPED: $key $val"; escaped=1; fi ;;
    NoNewPrivs:)
      if [ "$val" = 1 ]; then echo "BLOCKED: NoNewPrivs 1"; else echo "ESCAPED: NoNewPrivs $val"; escaped=1; fi ;;
    Seccomp:)
      if [ "$val" = 2 ]; then echo "BLOCKED: Seccomp filter mode"; else echo "ESCAPED: Seccomp $val"; escaped=1; fi ;;
  esac
done < /proc/self/status
# uid 0 here must not be uid 0 of the host: the user namespace maps it elsewhere.
read -r inside outside count < /proc/self/uid_map
if [ "$outside" = 0 ]; then echo "ESCAPED: uid 0 here is host root (uid_map: $inside $outside $count)"; escaped=1
else echo "BLOCKED: uid 0 here is host uid $outside"; fi
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
