"""Map IPv4 addresses to country codes using a range table.

usage: python3 geo.py RANGES_CSV IPS_TXT OUT_TXT

RANGES_CSV: header start,end,country; inclusive ranges of dotted IPv4 addresses, never overlapping,
in no particular order. IPS_TXT: one address per line (blank lines are skipped).
OUT_TXT: one line "address,country" per input address, in input order; "ZZ" when no range
contains the address, "INVALID" when the line is not a valid dotted IPv4 address.
"""
import csv
import sys


def ip2int(s):
    parts = s.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    n = 0
    for p in parts:
        n = n * 256 + int(p)
    return n


def main(ranges_path, ips_path, out_path):
    ranges = []
    with open(ranges_path, newline="") as f:
        for row in csv.DictReader(f):
            ranges.append((row["start"], row["end"], row["country"]))
    out = []
    with open(ips_path) as f:
        for line in f:
            ip = line.strip()
            if not ip:
                continue
            n = ip2int(ip)
            if n is None:
                out.append(f"{ip},INVALID")
                continue
            country = "ZZ"
            for start, end, c in ranges:
                if ip2int(start) <= n <= ip2int(end):
                    country = c
                    break
            out.append(f"{ip},{country}")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
