"""A moto server on loopback holding one account, for the processes of several handlers to share.

Started (`started`) by end_to_end.py and tools/handler_bench.py with the project venv's Python (its
moto is the test venvs' moto, and requirements-dev.txt adds what moto's server needs), from the
repository's root:

    python -m tests.constructs_lib.version_router.moto_server < lines

The first line of stdin is the account, as a mock_aws request of tests/lambda_image/invoke_handler.py
without events ("amis", "seed", "values"). The one line written back is {"endpoint": the server's
URL, "seeded": the values its seed calls saved}; the server then serves until stdin closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.lambda_image import invoke_handler

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def started(account: dict[str, Any], tmp: str) -> Iterator[tuple[subprocess.Popen[str], str, dict[str, Any]]]:
    """The server holding ``account``, until exit: its process, endpoint and the values its seed saved."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    with open(Path(tmp, "moto-server.log"), "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.constructs_lib.version_router.moto_server"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, cwd=tmp,
            env={**env, "PYTHONPATH": str(ROOT), "TMPDIR": tmp},
        )
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(account) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"the moto server did not start:\n{Path(tmp, 'moto-server.log').read_text()[-4000:]}")
            ready = json.loads(line)
            yield process, ready["endpoint"], ready["seeded"]
        finally:
            process.kill()
            process.wait()


def main() -> None:
    request = json.loads(sys.stdin.readline())
    invoke_handler.lambda_environment()  # fake credentials, and the handlers' Region
    invoke_handler.moto_settings(request.get("amis"))  # before moto loads its backends

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        with invoke_handler.mocked_account({**request, "moto_endpoint": endpoint}) as saved:
            print(json.dumps({"endpoint": endpoint, "seeded": saved}), flush=True)
            sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
