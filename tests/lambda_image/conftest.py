"""Fixtures of the Lambda image tests."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.lambda_image import batches


@pytest.fixture(scope="session")
def runs(request, lambda_venvs) -> dict[str, batches.Batch]:
    """Both batches, run at once; {batch: ({event name: result}, logs)}.

    The moto batch comes from the session fixture moto_handler_batch (cached, see batches.py);
    the image batch runs here, every session.
    """
    with ThreadPoolExecutor(1) as pool:
        image = pool.submit(batches.image_batch, lambda_venvs)
        moto = request.getfixturevalue("moto_handler_batch")
        return {"moto": moto, "image": image.result()}
