"""Attack (guard evasion): a miner that pauses 20% of the time. It still burns 80% of a CPU forever, but
never looks like 'full CPU' in any single guard interval. argv[1]: seconds to run."""
import hashlib
import sys
import time

end, nonce = time.time() + float(sys.argv[1]), 0
while time.time() < end:
    t0 = time.time()
    while time.time() - t0 < 0.08:
        hashlib.sha256(nonce.to_bytes(8, "little")).digest()
        nonce += 1
    time.sleep(0.02)
print(f"VERDICT: ESCAPED (mined at 80% duty cycle for {sys.argv[1]} s, {nonce} hashes)")
