def csv_report(inventory):
    """CSV text (RFC 4180 quoting, \\n line ends) with header sku,name,qty,value_cents, sorted by SKU."""
    lines = ["sku,name,qty,value_cents"]
    for it in sorted(inventory._items.values(), key=lambda it: it.sku):
        lines.append(",".join([it.sku, it.name, str(it.qty), str(it.qty * it.unit_price_cents)]))
    return "\n".join(lines) + "\n"
