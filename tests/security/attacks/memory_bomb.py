"""Attack (guard): allocate and touch memory far beyond the limit. The memory cgroup must OOM-kill it
and the guard must stop and reset the sandbox."""
chunks = []
for _ in range(64):
    chunks.append(bytearray(64 << 20))  # bytearray zero-fills: every page is touched
print("VERDICT: ESCAPED (allocated 4 GiB)")
