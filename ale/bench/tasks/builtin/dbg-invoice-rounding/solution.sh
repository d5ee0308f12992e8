#!/bin/bash
cd /app
python3 - <<'PY'
s = open("invoice.py").read()
head = s[: s.index("def line_amounts")]
open("invoice.py", "w").write(head.rstrip() + '''
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def line_amounts(qty, unit_price, discount_pct, tax_rate_pct):
    """Return (net, tax) of one line as strings."""
    gross = qty * Decimal(unit_price)
    net = (gross * (1 - Decimal(discount_pct) / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
    tax = (net * Decimal(tax_rate_pct) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return str(net), str(tax)


def invoice_totals(lines, tax_rate_pct):
    """lines: list of (qty, unit_price, discount_pct). Returns dict subtotal/tax/total (strings)."""
    subtotal = tax = Decimal("0.00")
    for qty, price, disc in lines:
        n, t = line_amounts(qty, price, disc, tax_rate_pct)
        subtotal += Decimal(n)
        tax += Decimal(t)
    return {"subtotal": str(subtotal), "tax": str(tax), "total": str(subtotal + tax)}
''')
PY
