"""Fixtures of the router's unit tests: the account (moto) and the router with its version functions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from moto import mock_aws

from tests.constructs_lib.version_router.support import (
    VersionFunctions,
    fake_aws_environment,
    load_router,
    seed,
    tag_ami,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """moto, with clients to seed it; fake credentials and nothing of a local AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_aws_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield SimpleNamespace(seed=seed, tag_ami=tag_ami)


@pytest.fixture(scope="module")
def router() -> ModuleType:
    """The router serving every served version, the newest as default (as the settings would have it)."""
    return load_router()


@pytest.fixture
def functions(router: ModuleType) -> Iterator[VersionFunctions]:
    """The version functions behind ``router``: each answers with the version it is."""
    version_functions = VersionFunctions(router)
    yield version_functions
    version_functions.close()
