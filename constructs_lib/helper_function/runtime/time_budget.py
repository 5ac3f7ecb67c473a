"""How long one AWS call of a helper function can take, and the check each helper makes before one.

Shared by every helper function of this project (spliced into its inline code like
``cfn_response``). Lambda stops a function at its timeout without a word: a custom resource then
never replies, and CloudFormation waits out the resource's service timeout. So a helper calls AWS
only while the longest the call can take still leaves the time it needs afterwards (to reply), and
every client is made with :func:`client_config`, whose timeouts and attempts bound that longest time.

botocore's standard retry mode (``botocore/retries/standard.py``) retries a call that timed out or
was throttled, waiting before retry ``i`` (from 0) at most ``min(2 ** i, 20)`` seconds for a
throttled call (50 ms times that otherwise), plus up to 5 seconds when the service asks for more
(``x-amz-retry-after``). ``READ_TIMEOUT_S`` bounds each wait for the answer, so an endpoint that
accepts the connection and never answers costs ``ATTEMPTS`` read timeouts, not the function's time.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
# One retry: the helpers' own loops retry what is worth more (throttling, IAM propagation).
ATTEMPTS = 2
RETRY_WAIT_S = float(sum(min(2**retry, 20) + 5 for retry in range(ATTEMPTS - 1)))


class OutOfTime(Exception):
    """Stopped before an AWS call that might not end before the time the helper must keep."""


def client_config() -> Config:
    """The configuration of every client of a helper: the timeouts and attempts of ``longest_call_ms``."""
    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "max_attempts": ATTEMPTS},
    )


def longest_call_ms() -> int:
    """The longest one call of a ``client_config`` client takes, its retry included."""
    return int((ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + RETRY_WAIT_S) * 1000)


def check_time(context: Any, keep_ms: int) -> None:
    """Raise :class:`OutOfTime` unless one more AWS call still leaves ``keep_ms`` before the timeout."""
    remaining = context.get_remaining_time_in_millis()
    needed = longest_call_ms() + keep_ms
    if remaining < needed:
        raise OutOfTime(
            f"{remaining / 1000:.0f} s left, less than the {needed / 1000:.0f} s another AWS call "
            f"(up to {longest_call_ms() / 1000:.0f} s) and what follows it need: stopped before calling AWS"
        )


def can_wait(context: Any, wait_s: float, keep_ms: int) -> bool:
    """Whether waiting ``wait_s`` still leaves time for one more AWS call and ``keep_ms``."""
    return bool(context.get_remaining_time_in_millis() - wait_s * 1000 >= longest_call_ms() + keep_ms)
