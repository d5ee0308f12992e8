import random
import sys
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, "/app")
import invoice  # noqa: E402

C = Decimal("0.01")


def ref_line(q, p, d, t):
    net = (q * Decimal(p) * (1 - Decimal(d) / 100)).quantize(C, ROUND_HALF_UP)
    return net, (net * Decimal(t) / 100).quantize(C, ROUND_HALF_UP)


def test_half_cent_cases():
    assert invoice.line_amounts(1, "0.125", "0", "0") == ("0.13", "0.00")
    assert invoice.line_amounts(1, "1.005", "0", "0") == ("1.01", "0.00")
    assert invoice.line_amounts(3, "0.35", "50", "0") == ("0.53", "0.00")
    assert invoice.line_amounts(1, "10.00", "0", "0.05") == ("10.00", "0.01")


def test_tax_on_discounted_net():
    assert invoice.line_amounts(2, "50.00", "10", "20") == ("90.00", "18.00")


def test_random_lines():
    rnd = random.Random(1)
    for _ in range(3000):
        q = rnd.randint(0, 50)
        p = f"{rnd.randint(0, 20000) / 1000:.3f}".rstrip("0") or "0"
        d = rnd.choice(["0", "5", "12.5", "33.3", "50", "2.25"])
        t = rnd.choice(["0", "7", "19", "20", "8.875", "5.5"])
        n, x = ref_line(q, p, d, t)
        assert invoice.line_amounts(q, p, d, t) == (f"{n}", f"{x}"), (q, p, d, t)


def test_invoice_totals():
    rnd = random.Random(2)
    for _ in range(300):
        t = rnd.choice(["19", "8.875", "7.7"])
        lines = [(rnd.randint(1, 9), f"{rnd.randint(1, 99999) / 100:.2f}", rnd.choice(["0", "15", "12.5"]))
                 for _ in range(rnd.randint(1, 30))]
        nets = [ref_line(q, p, d, t) for q, p, d in lines]
        sub = sum((n for n, _ in nets), Decimal("0.00"))
        tax = sum((x for _, x in nets), Decimal("0.00"))
        assert invoice.invoice_totals(lines, t) == {"subtotal": str(sub), "tax": str(tax), "total": str(sub + tax)}


def test_empty_invoice():
    assert invoice.invoice_totals([], "19") == {"subtotal": "0.00", "tax": "0.00", "total": "0.00"}
