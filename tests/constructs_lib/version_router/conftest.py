"""Fixtures of the router's unit tests: the account (moto) and the router with its version functions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.constructs_lib.version_router.support import REGION, VersionFunctions, load_router


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """moto, with clients to seed it; fake credentials and nothing of a local AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield SimpleNamespace(seed=seed, tag_ami=tag_ami)


def seed(*calls: dict[str, Any]) -> None:
    """Make the calls of support.py's forms (service, operation, params, region)."""
    for call in calls:
        getattr(boto3.client(call["service"], region_name=call.get("region", REGION)), call["operation"])(**call["params"])


def tag_ami(tags: list[dict[str, str]], region: str = REGION) -> str:
    """An AMI of the account with these tags; its id."""
    ec2 = boto3.client("ec2", region_name=region)
    image_id: str = ec2.register_image(Name=f"ami-of-{len(tags)}-tags", RootDeviceName="/dev/xvda")["ImageId"]
    ec2.create_tags(Resources=[image_id], Tags=tags)
    return image_id


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
