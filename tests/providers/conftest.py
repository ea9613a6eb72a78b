"""Fixtures every provider's tests share: the cassette configuration and folder.

A test under ``tests/providers/<name>/`` replays cassettes from ``cassettes/<name>/``
with the shared vcrpy configuration (record mode ``none`` unless asked, secrets
scrubbed, matching on the body).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spacekit.testing import vcr_config as shared_vcr_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return shared_vcr_config()


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(ROOT / "cassettes" / Path(str(request.path)).parent.name)
