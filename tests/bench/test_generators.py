"""Generators: deterministic per seed, parameters honoured, instances valid (a sample through validate)."""
from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ale.bench.generators import families, generate
from ale.bench.task import load_tasks
from ale.bench.validate import validate
from .bench_testkit import needs_root


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_at_least_six_families_including_mutation_and_workflow():
    names = families()
    assert len(names) >= 6 and {"mutation", "workflow", "write-word"} <= set(names)


@pytest.mark.parametrize("family", [f for f in families() if f != "mutation"])
def test_deterministic_per_seed(tmp_path, family):
    a = _tree(Path(generate(family, 3, 7, tmp_path / "a")[0]).parent)
    b = _tree(Path(generate(family, 3, 7, tmp_path / "b")[0]).parent)
    c = _tree(Path(generate(family, 3, 8, tmp_path / "c")[0]).parent)
    assert a == b
    assert a != {k.replace("-s8-", "-s7-"): v for k, v in c.items()}  # another seed, other tasks
    first = _tree(Path(generate(family, 1, 7, tmp_path / "d")[0]).parent)  # asking for more keeps the first ones
    assert first.items() <= a.items()
    tasks = load_tasks(tmp_path / "a")
    assert len(tasks) == 3 and all(t.solution and t.instruction for t in tasks)


def test_mutation_deterministic_and_swe_shaped(tmp_path):
    a = generate("mutation", 2, 3, tmp_path / "a")
    b = generate("mutation", 2, 3, tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    for task in a:
        inst = json.loads((task / "instance.json").read_text())
        assert inst["instance_id"] == task.name and inst["FAIL_TO_PASS"]
        assert not set(inst["FAIL_TO_PASS"]) & set(inst["PASS_TO_PASS"])
        assert inst["mutation"]["file"] in inst["patch"]
        # the vendored package really is the mutant: the gold patch is exactly the diff back to the released file
        mutated = (task / "environment" / "repo" / inst["mutation"]["file"]).read_text()
        site = Path(__import__(inst["mutation"]["file"].split("/")[0]).__file__).parent.parent
        released = (site / inst["mutation"]["file"]).read_text()
        assert mutated != released
        assert inst["patch"] == "".join(difflib.unified_diff(
            mutated.splitlines(keepends=True), released.splitlines(keepends=True),
            f"a/{inst['mutation']['file']}", f"b/{inst['mutation']['file']}"))
    assert b


def test_workflow_length_is_the_number_of_required_actions(tmp_path):
    for length in (1, 7, 20):
        (task,) = generate("workflow", 1, 0, tmp_path / str(length), length=length)
        tests = (task / "tests" / "test_outputs.py").read_text()
        assert tests.count("def test_step_") == length
        assert len((task / "solution.sh").read_text().strip().splitlines()) == 3 + length  # shebang, set -e, cd
    with pytest.raises(ValueError, match="between 1 and 20"):
        generate("workflow", 1, 0, tmp_path / "x", length=21)


def test_multistep_families_one_expert_chunk_per_step(tmp_path):
    """multi-write: k tool calls; breadcrumb: hops + 2 (the trail's cats and the write); both then finish.
    What a breadcrumb step must say is only in the previous step's output (the file it names)."""
    from ale.train.policy import byte_tokenizer
    from ale.train.rollout import expert_from_solution

    tok = byte_tokenizer()
    (mw,) = load_tasks(generate("multi-write", 1, 0, tmp_path / "mw", k=6)[0])
    chunks = [tok.decode(c[:-1]) for c in expert_from_solution(mw, tok).chunks]
    assert len(chunks) == 7 and chunks[0].startswith("```bash\necho ") and "finish" in chunks[-1]
    assert not any("set -e" in c or "#!" in c for c in chunks)
    (bc,) = load_tasks(generate("breadcrumb", 1, 0, tmp_path / "bc", hops=4)[0])
    chunks = [tok.decode(c[:-1]) for c in expert_from_solution(bc, tok).chunks]
    assert len(chunks) == 4 + 2 + 1
    files = {p.name: p.read_text() for p in (bc.path / "files").iterdir()}
    for i, chunk in enumerate(chunks[1:5]):  # cat NAME, where NAME was named by the previous file
        named = chunk.split("cat ")[1].split()[0]
        previous = chunks[i].split("cat ")[1].split()[0]
        assert files[previous] == f"next: {named}\n"
    assert files[chunks[4].split("cat ")[1].split()[0]].startswith("answer: ")
    assert sum(v.startswith("answer: ") for v in files.values()) == 1 + 3  # the answer and three decoys


def test_bad_family_and_params(tmp_path):
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        generate("nope", 1, 0, tmp_path)
    with pytest.raises(TypeError):
        generate("write-word", 1, 0, tmp_path, colour="red")


def test_generator_metadata_recorded(tmp_path):
    (task,) = generate("write-word", 1, 5, tmp_path, hint=False)
    meta = yaml.safe_load((task / "task.yaml").read_text())
    assert meta["generator"] == {"family": "write-word", "seed": 5, "params": {"hint": False}}
    assert "e.g. echo" not in meta["instruction"]


def test_cli_generate(tmp_path):
    out = subprocess.run([sys.executable, "-c", "from ale.bench.cli import app; app()", "generate", "workflow", "--n", "2",
                          "--seed", "1", "--out", str(tmp_path), "-p", "length=4"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workflow-s1-0000", "workflow-s1-0001"]


def _validate_generated(tmp_path, fams: list[str], n: int, repeat: int) -> None:
    for fam in fams:
        generate(fam, n, 11, tmp_path / fam, **({"length": 3} if fam == "workflow" and n == 1 else {}))
    tasks = [t for fam in fams for t in load_tasks(tmp_path / fam)]
    verdicts = validate(tasks, repeat=repeat, concurrency=4)
    assert [(v.task_id, v.status, v.reasons) for v in verdicts if v.status != "ok"] == []
    assert len(verdicts) == len(fams) * n


@needs_root
def test_generated_sample_passes_validate(tmp_path):
    """A sample (the easy family, a workflow, a mutant): the reference solution passes, doing nothing fails."""
    _validate_generated(tmp_path, ["write-word", "workflow", "mutation", "breadcrumb", "multi-write"], 1, 1)


@pytest.mark.slow
@needs_root
def test_every_family_passes_validate(tmp_path):
    _validate_generated(tmp_path, families(), 4, 2)
