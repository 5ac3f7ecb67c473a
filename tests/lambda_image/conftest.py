"""Fixtures of the Lambda image tests."""

import pytest

from tests.lambda_image import venv


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "lambda_image: builds venvs from the image's lock in lambda_image/locks/ (PyPI, about 2.5 min the first time, "
        "cached in .cache/) and runs the API handler in them",
    )


@pytest.fixture(scope="session")
def lambda_venvs() -> venv.LambdaVenvs:
    """The image venv and the test venv (built once, then reused from .cache/)."""
    return venv.ensure_venvs()
