#!/bin/bash
set -e
cd /app
python3 - <<'PY'
def patch(path, old, new):
    s = open(path).read()
    assert old in s, (path, old)
    open(path, "w").write(s.replace(old, new))

# mutable default argument shared between instances; also copy items so callers' objects are not mutated
patch("inventory/store.py", "def __init__(self, items=[]):\n        self._items = {}\n        self._log = items\n        for it in items:\n            self._items[it.sku] = it\n",
      "def __init__(self, items=None):\n        self._items = {}\n        self._log = []\n        for it in items or []:\n            self.add(it)\n")
patch("inventory/store.py", "        it = self._items[sku]\n        it.qty -= qty\n        if it.qty < 0:\n            del self._items[sku]\n",
      "        it = self._items[sku]\n        if qty > it.qty:\n            raise ValueError(f\"only {it.qty} of {sku} in stock\")\n        it.qty -= qty\n        if it.qty == 0:\n            del self._items[sku]\n")
patch("inventory/store.py", "if it.qty < threshold)", "if it.qty <= threshold)")
patch("inventory/store.py", "return items[number * size:(number + 1) * size]", "return items[(number - 1) * size:number * size]")
# banker's rounding and float error: do it in integers, half up
patch("inventory/pricing.py", "    return round(price_cents * (1 - percent / 100))",
      "    num = price_cents * (100 - percent)\n    return (2 * num + 100) // 200")
patch("inventory/pricing.py", "if qty > min_qty:", "if qty >= min_qty:")
patch("inventory/report.py", 'def csv_report(inventory):',
      'import csv\nimport io\n\n\ndef csv_report(inventory):')
patch("inventory/report.py", '''    lines = ["sku,name,qty,value_cents"]
    for it in sorted(inventory._items.values(), key=lambda it: it.sku):
        lines.append(",".join([it.sku, it.name, str(it.qty), str(it.qty * it.unit_price_cents)]))
    return "\\n".join(lines) + "\\n"''', '''    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\\n")
    w.writerow(["sku", "name", "qty", "value_cents"])
    for it in sorted(inventory._items.values(), key=lambda it: it.sku):
        w.writerow([it.sku, it.name, it.qty, it.qty * it.unit_price_cents])
    return buf.getvalue()''')
PY
python3 -m pytest -q -p no:cacheprovider tests
