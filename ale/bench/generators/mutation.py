"""Mutation of real code, SWE-bench style.

A real pure-Python package installed from PyPI (packaging, idna, python-dateutil; wheels in this
environment) is vendored into the task (copied from site-packages at generation time: the sandbox has
no network). One AST mutation (a flipped comparison, a swapped operator, a dropped `not`, an off-by-one
constant, ...) is injected at a line the package's behaviour tests execute. The tests are generated: a
list of calls to the package's public API whose results were recorded from the unmutated package
(snapshot tests). A mutant is kept only if it breaks at least one of them; the ones it breaks are
FAIL_TO_PASS, the rest PASS_TO_PASS. The instance goes through ale.bench.swe like any SWE instance.

Kept from SWE-bench-style mutation pipelines: real code, execution-checked mutants, F2P/P2P. Dropped:
the package's own test suite (wheels do not ship it; the generated snapshot tests stand in for it).
"""
from __future__ import annotations

import ast
import atexit
import copy
import difflib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from ale.bench.generators import family
from ale.bench.generators.common import TaskSpec

# Per package: the modules that may be mutated, the imports the cases need, and the cases (expressions).
PACKAGES: dict[str, dict] = {
    "packaging": {
        "targets": ["version.py", "specifiers.py", "utils.py"],
        "setup": "from packaging.version import Version, parse\nfrom packaging.specifiers import Specifier, SpecifierSet\n"
                 "from packaging.utils import canonicalize_name, canonicalize_version",
        "cases": [
            "Version('1.0') < Version('1.0.post1')", "Version('1.0a1') < Version('1.0')",
            "Version('1.0.dev0') < Version('1.0a1')", "Version('2.0') == Version('2.0.0')",
            "Version('1!1.0') > Version('2.0')", "str(Version('1.0-RC1'))", "Version('1.2.3').release",
            "Version('1.2.3rc4').pre", "Version('1.0.post2').post", "Version('1.0.dev5').dev",
            "Version('1.2.3+local.7').local", "(Version('1.2.3').major, Version('1.2.3').minor, Version('1.2.3').micro)",
            "(Version('1.0').is_prerelease, Version('1.0b2').is_prerelease, Version('1.0.dev1').is_devrelease)",
            "Version('1.0.post1').is_postrelease", "[str(v) for v in sorted(map(Version, ['1.10', '1.9', '1.0a1', '1.0', '1.0.post1']))]",
            "Version('1!2.0rc1+abc').base_version", "parse('not a version')", "'1.5' in SpecifierSet('>=1.0,<2.0')",
            "'2.0' in SpecifierSet('>=1.0,<2.0')", "SpecifierSet('>=1.0').contains('1.1a1')",
            "SpecifierSet('>=1.0').contains('1.1a1', prereleases=True)", "Specifier('~=1.4.5').contains('1.4.9')",
            "Specifier('~=1.4.5').contains('1.5.0')", "Specifier('==1.2.*').contains('1.2.7')",
            "Specifier('==1.2.*').contains('1.3')", "Specifier('!=1.0').contains('1.0')",
            "list(SpecifierSet('>1.0').filter(['0.9', '1.0', '1.1', '2.0']))", "canonicalize_name('Foo.Bar__baz')",
            "canonicalize_version('1.0.0')", "canonicalize_version('2.10.0.0')",
            "(Specifier('>=1.0').operator, Specifier('>=1.0').version)", "Version('1.0') <= Version('1.0')",
            "Version('1.0') >= Version('1.1')", "Specifier('<=2.0').contains('2.0')", "Specifier('>2.0').contains('2.0.post1')",
            "Specifier('<2.0').contains('2.0a1')", "str(SpecifierSet('>=1.0, !=1.5'))", "Version('1.0.0.0') == Version('1')",
        ]},
    "idna": {
        "targets": ["core.py"],
        "setup": "import idna",
        "cases": [
            "idna.encode('example.com')", "idna.decode('EXAMPLE.com')", "idna.encode('ドメイン.テスト')",
            "idna.decode('xn--eckwd4c7c.xn--zckzah')", "idna.encode('a' * 64)", "idna.valid_label_length('a' * 63)",
            "idna.valid_label_length('a' * 64)", "idna.alabel('müller')", "idna.ulabel('xn--mller-kva')",
            "idna.encode('-abc')", "idna.encode('abc-')", "idna.encode('a..b')", "idna.encode('שלום')",
            "idna.encode('1שלום')", "idna.encode('Königsgäßchen', uts46=True)", "idna.encode('Faß.de', uts46=True, transitional=True)",
            "idna.decode('xn--mller-kva.de')", "idna.encode('ab--cd')", "idna.encode('xn--ab')",
            "idna.encode('straße.de')", "idna.valid_string_length('a' * 253, False)", "idna.valid_string_length('a' * 254, False)",
            "idna.encode('a.b.c.')", "idna.decode('a.b.c.')", "idna.check_hyphen_ok('ab')", "idna.encode('ܐܒ')",
        ]},
    "dateutil": {
        "targets": ["easter.py", "relativedelta.py"],
        "setup": "import datetime as dt\nfrom dateutil.easter import easter\nfrom dateutil.relativedelta import relativedelta, MO, FR",
        "cases": [
            "easter(2024)", "easter(2000)", "easter(1999, 1)", "easter(2024, 2)", "easter(1583, 3)", "easter(2100)",
            "easter(2025, 4)", "dt.date(2024, 1, 31) + relativedelta(months=1)", "dt.date(2024, 2, 29) + relativedelta(years=1)",
            "relativedelta(dt.date(2024, 3, 15), dt.date(2020, 1, 1))",
            "dt.datetime(2024, 1, 1, 12) + relativedelta(hours=+36, minutes=-5)", "dt.date(2024, 5, 1) + relativedelta(weekday=FR)",
            "dt.date(2024, 5, 1) + relativedelta(day=31)", "relativedelta(months=14)", "relativedelta(days=10) * 3",
            "relativedelta(years=1, months=2) - relativedelta(months=3)", "abs(relativedelta(days=-3))", "bool(relativedelta())",
            "relativedelta(hours=25).normalized()", "dt.date(2023, 1, 1) + relativedelta(yearday=100)",
            "dt.date(2024, 1, 1) + relativedelta(nlyearday=100)", "dt.date(2024, 12, 31) + relativedelta(weekday=MO(-1))",
            "relativedelta(days=1.5).normalized()", "relativedelta(dt.datetime(2024, 1, 1), dt.datetime(2023, 12, 31, 23, 59))",
            "dt.date(2024, 3, 31) - relativedelta(months=1)", "relativedelta(weeks=2).weeks", "-relativedelta(months=1, days=2)",
            "relativedelta(months=1) == relativedelta(months=1, days=0)", "dt.date(2021, 1, 1) + relativedelta(months=-13)",
        ]},
}

_RUNNER = """
import json, sys
def run(expr, ns):
    try:
        return repr(eval(expr, ns))
    except Exception as e:
        return "raises " + type(e).__name__
ns = {}
exec(SETUP, ns)
out = {"results": [run(c, ns) for c in CASES]}
print(json.dumps(out))
"""


def _site_packages() -> Path:
    import packaging
    return Path(packaging.__file__).parent.parent


def _run_cases(pkg: str, root: Path, coverage_of: list[str] | None = None, timeout: float = 20.0) -> dict | None:
    """Run the package's cases with `root` first on sys.path (isolated interpreter); None on a hang."""
    spec = PACKAGES[pkg]
    code = f"SETUP = {spec['setup']!r}\nCASES = {spec['cases']!r}\n" + _RUNNER
    if coverage_of:  # record which lines of the target files the cases execute
        code = ("import sys\nLINES = set()\nTARGETS = " + repr(coverage_of) + "\n"
                "def tr(frame, event, arg):\n    f = frame.f_code.co_filename\n"
                "    if f in TARGETS:\n        LINES.add((f, frame.f_lineno))\n    return tr\n"
                "sys.settrace(tr)\n" + code.replace('print(json.dumps(out))',
                'sys.settrace(None)\nout["lines"] = sorted(LINES)\nprint(json.dumps(out))'))
    try:
        p = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(root)!r})\n" + code],
                           capture_output=True, text=True, timeout=timeout, cwd=root)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        return None
    return json.loads(p.stdout.splitlines()[-1])


@lru_cache(maxsize=None)
def _baseline(pkg: str) -> tuple[str, tuple[str, ...], dict[str, tuple[int, ...]]]:
    """(temp copy of the clean package, golden results, covered lines per target file)."""
    root = Path(tempfile.mkdtemp(prefix=f"ale-mut-{pkg}-"))
    atexit.register(shutil.rmtree, root, True)
    shutil.copytree(_site_packages() / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    targets = [str(root / pkg / t) for t in PACKAGES[pkg]["targets"]]
    out = _run_cases(pkg, root, coverage_of=targets)
    if out is None:
        raise RuntimeError(f"the cases of {pkg} do not run on the clean package")
    covered = {t: tuple(sorted(ln for f, ln in out["lines"] if f == str(root / pkg / t))) for t in PACKAGES[pkg]["targets"]}
    return str(root), tuple(out["results"]), covered


_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
         ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Add: ast.Sub, ast.Sub: ast.Add,
         ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.And: ast.Or, ast.Or: ast.And}


def _mutations(tree: ast.AST, lines: set[int]):
    """(node, mutated copy, kind) for every mutable single-line node on a covered line, in source order."""
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) not in lines or node.lineno != node.end_lineno:
            continue
        new, kind = copy.deepcopy(node), None
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _SWAP:
            new.ops = [_SWAP[type(node.ops[0])]()]
            kind = "comparison"
        elif isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in _SWAP:
            new.op = _SWAP[type(node.op)]()
            kind = "operator"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            new = node.operand
            kind = "dropped-not"
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            new.value = node.value + 1
            kind = "off-by-one"
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            new.value = not node.value
            kind = "boolean"
        if kind:
            yield node, new, kind


def _apply(src: str, node: ast.AST, new: ast.AST) -> str | None:
    lines = src.splitlines(keepends=True)
    line = lines[node.lineno - 1]
    if not line.isascii():  # col offsets are UTF-8 byte offsets; keep to ASCII lines
        return None
    lines[node.lineno - 1] = line[:node.col_offset] + ast.unparse(new) + line[node.end_col_offset:]
    out = "".join(lines)
    try:
        ast.parse(out)
    except SyntaxError:
        return None
    return out


def _test_file(pkg: str, golden: tuple[str, ...]) -> str:
    spec = PACKAGES[pkg]
    body = [f'"""Behaviour tests of the vendored {pkg} (results recorded from the released package)."""',
            "import os", "import sys", "",
            "# the vendored copy, not an installed one (pytest itself imports `packaging`)",
            "sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))",
            f"for _m in [m for m in sys.modules if m == {pkg!r} or m.startswith({pkg + '.'!r})]:",
            "    del sys.modules[_m]",
            *spec["setup"].splitlines(), "", "", "def _r(f):", "    try:", "        return repr(f())",
            "    except Exception as e:", "        return 'raises ' + type(e).__name__", ""]
    for i, (case, want) in enumerate(zip(spec["cases"], golden)):
        body += ["", f"def test_case_{i:02d}():", f"    assert _r(lambda: {case}) == {want!r}", ""]
    return "\n".join(body)


@family("mutation")
def mutation(rng: random.Random, index: int, package: str | None = None, max_tries: int = 40) -> TaskSpec:
    """A real PyPI package with one injected bug (AST mutation); FAIL_TO_PASS / PASS_TO_PASS recorded."""
    pkg = package or rng.choice(sorted(PACKAGES))
    if pkg not in PACKAGES:
        raise ValueError(f"mutation package must be one of {', '.join(sorted(PACKAGES))}")
    clean_root, golden, covered = _baseline(pkg)
    candidates = []
    for target in PACKAGES[pkg]["targets"]:
        src = (Path(clean_root) / pkg / target).read_text()
        for node, new, kind in _mutations(ast.parse(src), set(covered[target])):
            candidates.append((target, node.lineno, node.col_offset, kind, node, new, src))
    candidates.sort(key=lambda c: c[:4])
    rng.shuffle(candidates)
    work = Path(tempfile.mkdtemp(prefix="ale-mutant-"))
    try:
        for target, lineno, _, kind, node, new, src in candidates[:max_tries]:
            mutated = _apply(src, node, new)
            if mutated is None or mutated == src:
                continue
            shutil.rmtree(work / pkg, ignore_errors=True)
            shutil.copytree(Path(clean_root) / pkg, work / pkg)
            (work / pkg / target).write_text(mutated)
            out = _run_cases(pkg, work)
            if out is None:  # hangs or breaks the import: not a useful bug report
                continue
            failing = [i for i, (a, b) in enumerate(zip(out["results"], golden)) if a != b]
            if failing:
                return _instance(rng, pkg, target, lineno, kind, src, mutated, work, golden, out["results"], failing)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raise RuntimeError(f"no mutant of {pkg} broke a test in {max_tries} tries")


def _instance(rng, pkg, target, lineno, kind, src, mutated, work, golden, got, failing) -> TaskSpec:
    from ale.bench.swe import instance_to_task

    test_rel = "tests/test_behaviour.py"
    cases = PACKAGES[pkg]["cases"]
    shown = sorted(rng.sample(failing, min(2, len(failing))))
    report = "\n".join(f"- `{cases[i]}` gives `{got[i]}`, expected `{golden[i]}`" for i in shown)
    patch = "".join(difflib.unified_diff(mutated.splitlines(keepends=True), src.splitlines(keepends=True),
                                         f"a/{pkg}/{target}", f"b/{pkg}/{target}"))
    inst = {"instance_id": "", "repo": "repo",
            "problem_statement": f"The vendored `{pkg}` package in this repository has a regression:\n{report}\n"
                                 f"({len(failing)} behaviour(s) differ from the released `{pkg}`.)",
            "test_files": {test_rel: _test_file(pkg, golden), "tests/__init__.py": ""},
            "FAIL_TO_PASS": [f"{test_rel}::test_case_{i:02d}" for i in failing],
            "PASS_TO_PASS": [f"{test_rel}::test_case_{i:02d}" for i in range(len(cases)) if i not in failing],
            "patch": patch, "domain": "debugging", "difficulty": "medium" if len(failing) > 1 else "hard",
            "tags": ["swe", "mutation", pkg, kind], "mutation": {"file": f"{pkg}/{target}", "line": lineno, "kind": kind}}
    repo = work / "repo"
    repo.mkdir()
    shutil.copytree(work / pkg, repo / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    folder = Path(tempfile.mkdtemp(prefix="ale-mutation-task-")) / "task"
    instance_to_task(inst, repo, folder)
    shutil.rmtree(repo)
    return TaskSpec("", "", inst["domain"], inst["difficulty"], "", "", prebuilt=folder)
