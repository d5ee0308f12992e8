#!/bin/bash
python3 - <<'PY'
import csv, math

def solve(M, e):
    # Safeguarded Newton: keep a bracket [lo, hi] where f changes sign, bisect when Newton leaves it.
    f = lambda E: E - e * math.sin(E) - M
    lo, hi = 0.0, 2 * math.pi
    E = math.pi if e > 0.8 else M
    for _ in range(200):
        fE = f(E)
        if fE == 0:
            return E
        if fE < 0:
            lo = E
        else:
            hi = E
        d = 1 - e * math.cos(E)
        En = E - fE / d if d > 0 else None
        if En is None or not (lo < En < hi):
            En = 0.5 * (lo + hi)
        if abs(En - E) < 1e-16:
            E = En
            break
        E = En
    return E

with open("/app/orbits.csv") as fh, open("/app/anomalies.csv", "w") as out:
    out.write("id,E\n")
    for row in csv.DictReader(fh):
        E = solve(float(row["M"]), float(row["e"]))
        out.write(f"{row['id']},{E!r}\n")
PY
