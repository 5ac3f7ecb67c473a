"""Fixtures of the ``pcluster-api`` tests: fake AWS (moto), the local SigV4-checking API, and the real handler behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from tests.lambda_image import venv
from tests.pcluster_api_client import handler_front
from tests.pcluster_api_client.support import REGION, FakeApi, serve_api


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region, no local AWS configuration, no proxy."""
    for name in (
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def aws(clean_env: None) -> Iterator[None]:
    """The clean environment, with moto active."""
    with mock_aws():
        yield


@pytest.fixture
def api() -> Iterator[FakeApi]:
    """The local API server, on an ephemeral loopback port, stopped at teardown."""
    with serve_api() as fake:
        yield fake


@pytest.fixture(scope="session")
def real_handler() -> Iterator[handler_front.HandlerFront]:
    """The real API handler of the default version, under moto, behind a local API Gateway (handler_front.py),
    in tests/lambda_image's venvs of that version (built once, then reused from .cache/)."""
    with handler_front.serve(venv.ensure_venvs()) as front:
        yield front
