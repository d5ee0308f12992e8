#!/bin/bash
cat > /app/fwparse.py <<'PY'
import csv
import sys


def main(src, dst):
    rows, bad = [], []
    acct, n, net = None, 0, 0
    with open(src) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            line = line.ljust(53)
            kind = line[0]
            if kind == "H":
                acct, n, net = line[9:29].strip(), 0, 0
            elif kind == "D":
                cents = int(line[11:23])
                typ = line[9:11]
                signed = cents if typ == "CR" else -cents
                n += 1
                net += signed
                d = line[1:9]
                sign = "-" if signed < 0 else ""
                rows.append([acct, f"{d[:4]}-{d[4:6]}-{d[6:8]}", typ,
                             f"{sign}{abs(signed) // 100}.{abs(signed) % 100:02d}", line[23:53].strip()])
            elif kind == "T":
                tn = int(line[1:7])
                tnet = int(line[8:21]) * (-1 if line[7] == "-" else 1)
                if tn != n or tnet != net:
                    bad.append(acct)
    with open(dst, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["account", "date", "type", "amount", "description"])
        w.writerows(rows)
    for a in bad:
        print(f"{a}: trailer mismatch", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
PY
