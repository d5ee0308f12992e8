"""No host-side write follows a path a sandbox process controls (issue #12 item 4).

The output spill files (/tmp/ale-output/exec-N.stdout) are written by the root server: a non-root
sandbox user must not be able to aim them, through a symlink, at a file only sandbox root may write."""

from __future__ import annotations

from ale.sandbox import SandboxSpec

from attack_kit import SPEC


def test_spill_file_symlink_does_not_overwrite_a_root_file(client):
    with client.create(SandboxSpec(**SPEC, user="1000")) as sb:
        before = sb.read_file("/etc/passwd")
        r = sb.exec(["bash", "-c", "mkdir -p /tmp/ale-output && for i in $(seq 1 20); do "
                                   "ln -s /etc/passwd /tmp/ale-output/exec-$i.stdout; done; id -u"])
        assert r.stdout.strip() == "1000"
        big = sb.exec(["bash", "-c", "head -c 5000 /dev/zero | tr '\\0' x"], max_output=1000)
        assert big.truncated
        assert sb.read_file("/etc/passwd") == before, "the spill overwrote a file the sandbox user cannot write"


def test_spill_dir_symlink_creates_nothing_in_a_root_dir(client):
    with client.create(SandboxSpec(**SPEC, user="1000")) as sb:
        assert sb.exec(["ln", "-s", "/etc", "/tmp/ale-output"]).exit_code == 0
        big = sb.exec(["bash", "-c", "head -c 5000 /dev/zero | tr '\\0' x"], max_output=1000)
        assert big.truncated and "x" * 100 in big.stdout  # head and tail are still returned
        names = [e.name for e in sb.list_files("/etc")]
        assert not [n for n in names if n.startswith("exec-")], "the spill created a file in /etc"


def test_spill_still_works_for_a_non_root_user(client):
    with client.create(SandboxSpec(**SPEC, user="1000")) as sb:
        big = sb.exec(["bash", "-c", "seq 1 20000"], max_output=1000)
        assert big.truncated and big.output_path
        assert sb.exec(["wc", "-l", big.output_path]).stdout.split()[0] == "20000"
