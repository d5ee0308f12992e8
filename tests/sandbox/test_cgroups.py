"""What the launcher is told to do with cgroups, for v1 (this machine) and v2 (unified) layouts.

Pure computation over temporary directories standing in for the hierarchies (a fake only for this
unit test: the real v1 path is exercised by every sandbox test, the limit tests included)."""

from pathlib import Path

from ale.sandbox import cgroups


def _lay_out(tmp: Path, names: dict[str, list[str]]) -> None:
    for d, files in names.items():
        (tmp / d).mkdir(parents=True)
        for f in files:
            (tmp / d / f).write_text("")


def test_v2_ops_make_the_dir_then_write_each_limit(tmp_path):
    _lay_out(tmp_path, {"ale/inst": ["memory.swap.max"]})
    cg = cgroups.Cgroup({"unified": tmp_path / "ale"}, "inst/sb1")
    d = f"{tmp_path}/ale/inst/sb1"
    assert cg.launch_ops(cgroups.Limits(memory=256 << 20, pids=64, cpus=1.5)) == [
        f"mkdir {d}", f"{d}/memory.max={256 << 20}", f"{d}/memory.swap.max=0", f"{d}/pids.max=64",
        f"{d}/cpu.max=150000 100000"]
    assert cg.attach_dirs == [d]


def test_v1_ops_cover_every_controller_and_skip_swap_without_swap_accounting(tmp_path):
    bases = {c: tmp_path / c / "ale" for c in ("memory", "pids", "cpu", "cpuacct")}
    _lay_out(tmp_path, {f"{c}/ale/inst": [] for c in bases})
    ops = cgroups.Cgroup(bases, "inst/sb2").launch_ops(cgroups.Limits(memory=1000, pids=10, cpus=0.5))
    assert ops[:4] == [f"mkdir {tmp_path}/{c}/ale/inst/sb2" for c in bases]
    assert ops[4:] == [f"{tmp_path}/memory/ale/inst/sb2/memory.limit_in_bytes=1000",
                       f"{tmp_path}/pids/ale/inst/sb2/pids.max=10",
                       f"{tmp_path}/cpu/ale/inst/sb2/cpu.cfs_quota_us=50000"]
