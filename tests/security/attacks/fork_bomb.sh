#!/bin/bash
# Attack (guard): the classic fork bomb. The pids limit must contain it and the guard must stop and reset
# the sandbox. The host checks the guard's answer and events.
echo "marker" > /workspace/before-bomb
:(){ :|:& };:
sleep 5
echo "VERDICT: ESCAPED (still running after the bomb)"
