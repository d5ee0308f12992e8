"""Fixtures for the agent harness tests (helpers and FAKES live in agent_testkit.py)."""
from pathlib import Path

import pytest

from .agent_testkit import LocalEnvironment


@pytest.fixture
def env(tmp_path: Path) -> LocalEnvironment:
    return LocalEnvironment(tmp_path)
