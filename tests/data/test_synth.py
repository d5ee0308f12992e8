"""`ale data synth`: generated instances reviewed through real sandboxes; rejects keep their reason."""
import json
import os

import pytest
from typer.testing import CliRunner

from ale.bench.generators import FAMILIES, family
from ale.bench.generators.common import TaskSpec
from ale.cli import app
from ale.data.synth import key_lines, leaked_lines

PATCH = """cd /workspace/repo
git apply -p1 <<'ALE_PATCH_EOF'
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,3 +1,3 @@
-    return a < b
+    return a <= b and not c
ALE_PATCH_EOF
"""


def test_key_lines_of_a_patch_and_a_script():
    assert key_lines(PATCH) == ["return a <= b and not c"]
    script = "#!/bin/bash\nset -e\ncd /workspace\n# comment\npython3 - <<'EOF'\nprint(sum(range(10)))\nEOF\necho ok\n"
    assert key_lines(script) == ["print(sum(range(10)))"]  # `echo ok` is too short to be an answer
    assert leaked_lines("Fix it so that `return a <= b and not c` holds.", PATCH)
    assert not leaked_lines("Fix the comparison in pkg/mod.py.", PATCH)


@family("test-broken")
def _broken(rng, index):
    return TaskSpec("", "Write ok to /workspace/out.txt.", "system-administration", "easy",
                    "from pathlib import Path\n\ndef test_out():\n    assert Path('/workspace/out.txt').read_text() == 'ok'\n",
                    "echo nope > /workspace/out.txt")


@pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")
def test_synth_reviews_and_keeps_rejects(tmp_path):
    try:
        r = CliRunner().invoke(app, ["data", "synth", "-f", "write-word:2", "-f", "column-sum:1", "-f", "test-broken:1",
                                     "-p", "write-word.hint=true", "--out", str(tmp_path), "--repeat", "1"])
    finally:
        FAMILIES.pop("test-broken", None)
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "synth.json").read_text())
    assert rep["made"] == 4 and rep["accepted"] == 1
    assert rep["rejected"] == {"leaks_solution": 2, "broken": 1}
    assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == ["column-sum-s0-0000"]
    why = json.loads((tmp_path / "rejected" / "test-broken-s0-0000" / "reject.json").read_text())
    assert why["status"] == "broken" and "reference solution fails" in why["reasons"][0]
    leak = json.loads((tmp_path / "rejected" / "write-word-s0-0000" / "reject.json").read_text())
    assert leak["reasons"][0].startswith("instruction contains: echo ")


def test_synth_bad_input():
    r = CliRunner().invoke(app, ["data", "synth", "-f", "nope:2", "--out", "/tmp/x"])
    assert r.exit_code == 2 and "unknown family 'nope'" in r.output
    r = CliRunner().invoke(app, ["data", "synth", "-f", "column-sum", "--out", "/tmp/x"])
    assert r.exit_code == 2 and "FAMILY:N" in r.output
