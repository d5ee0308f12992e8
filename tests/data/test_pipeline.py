"""The pipeline end to end on a small set: synth -> rollout (scripted expert) -> filter -> export ->
`ale train sft` for a few steps with the tiny model; the counts of each stage are checked."""
import json
import os

import pytest
from typer.testing import CliRunner

from ale.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")]


def _run(*args):
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    print(r.output)  # the counts, in the test log
    return r.output


def test_synth_rollout_filter_export_sft(tmp_path):
    d = tmp_path
    _run("data", "synth", "-f", "column-sum:3", "-f", "workflow:2", "-f", "write-word:1", "-p", "workflow.length=3",
         "--out", str(d / "synth"), "--repeat", "2")
    s = json.loads((d / "synth" / "synth.json").read_text())
    assert s["made"] == 6 and s["accepted"] == 5 and s["rejected"] == {"leaks_solution": 1}
    _run("data", "rollout", str(d / "synth" / "tasks"), "--teacher", "expert", "--samples", "2", "--out", str(d / "roll"))
    ro = json.loads((d / "roll" / "rollout.json").read_text())
    assert ro["written"] == 10 and ro["passed"] == 10
    _run("data", "filter", str(d / "roll" / "trajectories"), "--tasks", str(d / "synth" / "tasks"), "--out", str(d / "filt"))
    f = json.loads((d / "filt" / "filter.json").read_text())
    assert f["kept"] == 5 and f["dropped"] == {"near_duplicate": 5}  # the scripted expert repeats itself exactly
    out = _run("data", "export", str(d / "filt" / "kept"), "--tokenizer", "tiny", "--out", str(d / "export"),
               "--synth-report", str(d / "synth" / "synth.json"))
    assert "5 trajectories -> 5 sequences" in out
    card = (d / "export" / "README.md").read_text()
    assert "| near_duplicate | 5 |" in card and "made 6, accepted 5; rejected: leaks_solution 1" in card
    _run("train", "sft", "examples/data/sft-tiny.yaml", f"sft.data=[{d / 'export' / 'trajectories'}]", "progress=false",
         "--steps", "2", "--out", str(d / "sft"), "--no-resume")
    recs = [json.loads(x) for x in (d / "sft" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [1, 2] and all(r["sft_tokens"] > 0 for r in recs)
