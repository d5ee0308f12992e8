"""Prices are integer cents everywhere. Rounding rule of the shop: half a cent rounds UP."""


def apply_discount(price_cents, percent):
    """Price after a percent discount (0 <= percent <= 100), rounded to whole cents, half up."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be within 0..100")
    return round(price_cents * (1 - percent / 100))


# (minimum quantity, discount percent), checked from the largest tier down
TIERS = [(100, 15), (50, 10), (10, 5)]


def bulk_price(unit_price_cents, qty):
    """Total for qty units: the best tier whose minimum qty is reached applies to the whole order."""
    percent = 0
    for min_qty, pct in TIERS:
        if qty > min_qty:
            percent = pct
            break
    return apply_discount(unit_price_cents * qty, percent)
