import random
import subprocess
import sys

SPEC_ORDER = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
              "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]


def run(lines, *flags):
    r = subprocess.run([sys.executable, "/app/semver_sort.py", *flags], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.splitlines(), r.stderr


def test_spec_example_order():
    shuffled = SPEC_ORDER[:]
    random.Random(4).shuffle(shuffled)
    rc, out, _ = run(shuffled)
    assert rc == 0 and out == SPEC_ORDER


def test_numeric_fields_and_prerelease_rules():
    vals = ["10.0.0", "2.0.0", "2.10.0", "2.9.9", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-a.1.1",
            "1.0.0-a.1", "1.0.0-A", "1.0.0-0"]
    rc, out, _ = run(vals)
    assert rc == 0
    assert out == ["1.0.0-0", "1.0.0-2", "1.0.0-10", "1.0.0-A", "1.0.0-a", "1.0.0-a.1",
                   "1.0.0-a.1.1", "2.0.0", "2.9.9", "2.10.0", "10.0.0"]


def test_build_metadata_ignored_stable():
    vals = ["1.0.0+b", "1.0.0-rc.1+zzz", "1.0.0+a", "1.0.0", "0.9.0+001"]
    rc, out, _ = run(vals)
    assert out == ["0.9.0+001", "1.0.0-rc.1+zzz", "1.0.0+b", "1.0.0+a", "1.0.0"]
    rc, out, _ = run(vals, "--reverse")
    assert out == ["1.0.0+b", "1.0.0+a", "1.0.0", "1.0.0-rc.1+zzz", "0.9.0+001"]
    rc, out, _ = run(vals, "--unique")
    assert out == ["0.9.0+001", "1.0.0-rc.1+zzz", "1.0.0+b"]


def test_invalid_lines():
    bad = ["v1.0.0", "01.0.0", "1.0", "1.0.0-", "1.0.0-01", "1.0.0+", "1.0.0-a..b", "1.0.0+a_b",
           "1.2.3.4", "1.0.0-α"]
    good = ["  1.2.3  ", "", "1.0.0-0a", "1.0.0+0001", "1.0.0-x-y.--"]
    rc, out, err = run(good + bad)
    assert rc == 1
    assert out == ["1.0.0-0a", "1.0.0-x-y.--", "1.0.0+0001", "1.2.3"]
    for b in bad:
        assert f"invalid: {b}" in err


def test_all_valid_exit_zero_empty_input():
    rc, out, err = run([])
    assert rc == 0 and out == []
