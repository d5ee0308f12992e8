#!/bin/bash
python3 - <<'PY'
src = open("/app/geo.py").read()
old = src[src.index("def main("):src.index('if __name__')]
new = '''def main(ranges_path, ips_path, out_path):
    import bisect
    ranges = []
    with open(ranges_path, newline="") as f:
        for row in csv.DictReader(f):
            ranges.append((ip2int(row["start"]), ip2int(row["end"]), row["country"]))
    ranges.sort()
    starts = [r[0] for r in ranges]
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
            i = bisect.bisect_right(starts, n) - 1
            country = ranges[i][2] if i >= 0 and n <= ranges[i][1] else "ZZ"
            out.append(f"{ip},{country}")
    with open(out_path, "w") as f:
        f.write("\\n".join(out) + "\\n")


'''
open("/app/geo.py", "w").write(src.replace(old, new))
PY
