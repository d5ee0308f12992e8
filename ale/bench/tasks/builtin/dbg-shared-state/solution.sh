#!/bin/bash
cd /app
python3 - <<'PY'
p = "stock/inventory.py"
s = open(p).read()
s = s.replace("""        if args not in cache:
            cache[args] = fn(*args, **kwargs)
        return cache[args]""", """        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = fn(*args, **kwargs)
        return cache[key]""")
s = s.replace("""    stock = {}
    history = []

    def __init__(self, name):
        self.name = name
""", """    def __init__(self, name):
        self.name = name
        self.stock = {}
        self.history = []
""")
s = s.replace("def add(self, sku, qty, tags=[]):", "def add(self, sku, qty, tags=None):")
s = s.replace("""        if self.stock.get(sku, 0) == 0:""", """        tags = list(tags or [])
        if self.stock.get(sku, 0) == 0:""")
s = s.replace("""        have = self.stock.get(sku, 0)
        self.stock[sku] = have - qty
        if self.stock[sku] < 0:
            raise ValueError(f"only {have} of {sku} in stock")""", """        have = self.stock.get(sku, 0)
        if have < qty:
            raise ValueError(f"only {have} of {sku} in stock")
        self.stock[sku] = have - qty""")
s = s.replace("key=lambda s: self.stock[s])", "key=lambda s: (self.stock[s], s))")
open(p, "w").write(s)
PY
