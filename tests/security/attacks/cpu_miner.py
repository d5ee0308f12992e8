"""Attack (guard): a crypto-miner's signature, sustained full CPU (SHA-256 hashing, as a proof-of-work
miner does) with no end. The guard must stop and reset the sandbox once it exceeds its CPU budget."""
import hashlib
import time

nonce, t0 = 0, time.time()
while time.time() - t0 < 60:
    hashlib.sha256(b"block header" + nonce.to_bytes(8, "little")).digest()
    nonce += 1
print(f"VERDICT: ESCAPED (mined for 60 s, {nonce} hashes)")
