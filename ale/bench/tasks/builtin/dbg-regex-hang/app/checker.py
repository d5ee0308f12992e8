"""Count valid e-mail addresses in a file, one candidate per line.

usage: python3 checker.py FILE
Prints "valid=N invalid=M" and writes the valid addresses, in input order, to FILE.valid.
A line (without its newline) is valid iff it matches EMAIL below; that regex is the specification
of what "valid" means.
"""
import re
import sys

EMAIL = re.compile(r'^([a-zA-Z0-9]+[._-]?)*[a-zA-Z0-9]+@([a-zA-Z0-9]+-?)*[a-zA-Z0-9]+(\.[a-zA-Z]{2,})+$')


def main(path):
    valid, invalid = [], 0
    with open(path) as f:
        for line in f:
            addr = line.rstrip("\n")
            if EMAIL.match(addr):
                valid.append(addr)
            else:
                invalid += 1
    with open(path + ".valid", "w") as out:
        out.writelines(a + "\n" for a in valid)
    print(f"valid={len(valid)} invalid={invalid}")


if __name__ == "__main__":
    main(sys.argv[1])
