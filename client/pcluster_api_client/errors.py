"""Exit codes of ``pcluster-api``, the error that carries one, and the one-line messages of API errors."""

from typing import Any

MAX_ERROR_TEXT = 200

EXIT_OK = 0
#: The API answered a status other than 2xx, or an answer the command cannot use; with ``--wait``,
#: the operation ended in failure.
EXIT_API_ERROR = 1
#: Bad command line.
EXIT_USAGE = 2
#: AWS error before the call: stack, outputs, credentials, access.
EXIT_AWS_ERROR = 3
#: The API endpoint could not be reached in time.
EXIT_UNREACHABLE = 4
#: ``--wait``: the operation had not ended when ``--timeout`` ran out.
EXIT_WAIT_TIMEOUT = 5
#: Interrupted (SIGINT: 128 + 2, as shells report it).
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An error reported as one line on stderr, with the exit code to return."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: str) -> str:
    """``text`` on one line, cut to :data:`MAX_ERROR_TEXT` characters."""
    return " ".join(text.split())[:MAX_ERROR_TEXT]


def api_message(document: Any, payload: bytes) -> str:
    """What an error answer says, on one line: the API's ``message``, else the answer's text."""
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return one_line(document["message"])
    return one_line(payload.decode(errors="replace")) or "(empty answer)"
