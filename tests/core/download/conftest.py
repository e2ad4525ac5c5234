"""Fixtures for the download tests: a repo on the loopback Hub and a destination folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.download.helpers import REPO_ID
from tests.fixtures.hubserver import HubRepo, HubServer


@pytest.fixture
def repo(hub: HubServer) -> HubRepo:
    return hub.add_repo(REPO_ID)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "models"
