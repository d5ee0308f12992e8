#!/bin/bash
# Attack: rename the machine (the UTS namespace must keep it private, and without CAP_SYS_ADMIN even the
# sandbox's own name is fixed) and set the NIS domain name.
escaped=0
before=$(hostname)
if hostname ale-pwned 2>/tmp/e; then echo "ESCAPED: hostname changed to $(hostname)"; escaped=1; else echo "BLOCKED: hostname: $(cat /tmp/e)"; fi
if python3 -c "import ctypes,sys; sys.exit(ctypes.CDLL(None).sethostname(b'ale-pwned2', 10) != 0)" 2>/dev/null; then
  echo "ESCAPED: sethostname worked"; escaped=1; else echo "BLOCKED: sethostname(2) refused"; fi
if domainname ale-pwned 2>/tmp/e; then echo "ESCAPED: domainname set"; escaped=1; else echo "BLOCKED: domainname: $(cat /tmp/e)"; fi
[ "$(hostname)" = "$before" ] && echo "BLOCKED: hostname still $before"
[ $escaped = 0 ] && echo "VERDICT: BLOCKED" || echo "VERDICT: ESCAPED"
