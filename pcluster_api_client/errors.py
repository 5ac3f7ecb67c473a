"""Exit codes of ``pcluster-api`` and the error that carries one."""

EXIT_OK = 0
#: The API answered a status other than 2xx, or an answer the command cannot use.
EXIT_API_ERROR = 1
#: Bad command line.
EXIT_USAGE = 2
#: AWS error before the call: stack, outputs, credentials, access.
EXIT_AWS_ERROR = 3
#: The API endpoint could not be reached in time.
EXIT_UNREACHABLE = 4


class CliError(Exception):
    """An error reported as one line on stderr, with the exit code to return."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
