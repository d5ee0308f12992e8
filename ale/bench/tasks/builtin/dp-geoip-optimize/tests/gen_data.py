import random, sys
def ipstr(n): return ".".join(str((n >> s) & 255) for s in (24, 16, 8, 0))
def make(seed, n_ranges, n_ips, rdir):
    rnd = random.Random(seed)
    cuts = sorted(rnd.sample(range(1, 2**32 - 1), 2 * n_ranges))
    ranges = [(cuts[2 * i], cuts[2 * i + 1], rnd.choice(["US", "DE", "FR", "JP", "BR", "IN", "CN", "GB"])) for i in range(n_ranges)]
    rnd.shuffle(ranges)
    with open(f"{rdir}/ranges.csv", "w") as f:
        f.write("start,end,country\n")
        for a, b, c in ranges:
            f.write(f"{ipstr(a)},{ipstr(b)},{c}\n")
    with open(f"{rdir}/ips.txt", "w") as f:
        for _ in range(n_ips):
            r = rnd.random()
            if r < 0.6:
                a, b, _ = rnd.choice(ranges); f.write(ipstr(rnd.choice([a, b, rnd.randint(a, b)])) + "\n")
            elif r < 0.97:
                f.write(ipstr(rnd.randint(0, 2**32 - 1)) + "\n")
            else:
                f.write(rnd.choice(["300.1.2.3", "1.2.3", "abc", "", "10.0.0.-1", "1.2.3.4.5"]) + "\n")
if __name__ == "__main__":
    make(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
