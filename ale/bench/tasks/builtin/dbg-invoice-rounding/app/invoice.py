"""Invoice totals.

Money amounts are given and returned as strings with exactly two decimals ("12.30").

For each line (qty, unit_price, discount_pct):
  net      = qty * unit_price * (1 - discount_pct / 100), rounded to cents
  tax      = net * tax_rate_pct / 100, rounded to cents
Rounding is always half-up (away from zero at exactly half a cent), done on exact decimal values.
Invoice: subtotal = sum of nets, tax = sum of line taxes, total = subtotal + tax.
qty is a non-negative int, unit_price a string like "19.99", discount_pct and tax_rate_pct are
strings like "12.5".
"""


def line_amounts(qty, unit_price, discount_pct, tax_rate_pct):
    """Return (net, tax) of one line as strings."""
    gross = qty * float(unit_price)
    net = round(gross * (1 - float(discount_pct) / 100), 2)
    tax = round(gross * float(tax_rate_pct) / 100, 2)
    return f"{net:.2f}", f"{tax:.2f}"


def invoice_totals(lines, tax_rate_pct):
    """lines: list of (qty, unit_price, discount_pct). Returns dict subtotal/tax/total (strings)."""
    subtotal = tax = 0.0
    for qty, price, disc in lines:
        n, t = line_amounts(qty, price, disc, tax_rate_pct)
        subtotal += float(n)
        tax += float(t)
    return {"subtotal": f"{subtotal:.2f}", "tax": f"{tax:.2f}", "total": f"{subtotal + tax:.2f}"}
