import os

# Tests never reach outside addresses: a FROM name missing locally must not become a registry pull
# (tests that pull set up their own loopback registry and pull from it explicitly).
os.environ["ALE_PULL"] = "never"
