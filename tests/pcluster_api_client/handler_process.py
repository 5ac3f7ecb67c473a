"""The real API handler under moto, answering API Gateway REST proxy events one line at a time.

Runs INSIDE the test venv of tests/lambda_image/venv.py (the image's lock plus moto), started by
handler_front.py, with tests/lambda_image/invoke_handler.py's Lambda environment and moto account:

    python handler_process.py < lines

The first line of stdin is the account (a mock_aws request of invoke_handler.py, without events);
the first line written back is {"seeded": the values its seed calls saved}. Then each line of
stdin is an event, and each line written back the handler's result ({"response": ...} or
{"exception": ...}). The handler logs to stdout, so the answers go to the original stdout and
everything printed (the handler's logs) to stderr.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambda_image"))
import invoke_handler  # noqa: E402


def main():
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def answer(document):
        answers.write(json.dumps(document) + "\n")
        answers.flush()

    request = json.loads(sys.stdin.readline())
    invoke_handler.lambda_environment()
    with invoke_handler.mocked_account(request) as saved:
        answer({"seeded": saved})
        for line in sys.stdin:
            # Not recorded, but between start and stop, where the recorder creates stand-in stacks.
            answer(invoke_handler._invoke({"event": json.loads(line)}, recording=False)["event"])


if __name__ == "__main__":
    main()
