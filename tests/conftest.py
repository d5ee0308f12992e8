import os

# Tests never reach outside addresses: a FROM name missing locally must not become a registry pull
# (tests that pull set up their own loopback registry and pull from it explicitly), and an allow-listed
# host name (the API fuzzer makes them up) must not become a DNS query. Servers the tests start inherit both.
os.environ["ALE_PULL"] = "never"
os.environ["ALE_NO_DNS"] = "1"
