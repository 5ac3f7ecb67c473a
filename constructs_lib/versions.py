"""The ParallelCluster releases this project serves (no CDK import: tools and test setup read it).

A release is served once it was checked: the function's permissions against what the release
calls and makes CloudFormation create (tests/constructs_lib/parallelcluster_api/coverage), and
its image against its locked environment (lambda_image/locks, tests/lambda_image). Another
release needs the same checks before it is listed here (README, "Adding a ParallelCluster
version").

Each :class:`Release` also records what its code does differently where that changes the
function's permissions; the tests read the same facts from the release's own code
(``tests/test_versions.py``), so a wrong entry fails there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    """A served ParallelCluster release and the behaviors of its code that its permissions follow."""

    version: str
    #: ``awsbatch`` is one of its schedulers (``pcluster/constants.py``, SUPPORTED_SCHEDULERS): its
    #: cluster templates make CloudFormation create Batch, CodeBuild, ECR and EventBridge resources.
    awsbatch: bool

    @property
    def minor(self) -> tuple[int, int]:
        major, minor, _ = (int(part) for part in self.version.split("."))
        return major, minor


# Each minor's latest patch, for as long as AWS supports the minor (18 months from its first release:
# 3.14.0 on 2025-09-29, 3.15.0 on 2026-03-23, 3.16.0 on 2026-08-20). Oldest first.
RELEASES = (
    Release("3.14.2", awsbatch=True),
    Release("3.15.1", awsbatch=True),
    Release("3.16.1", awsbatch=False),
)
SUPPORTED_PARALLELCLUSTER_VERSIONS = tuple(release.version for release in RELEASES)
DEFAULT_PARALLELCLUSTER_VERSION = SUPPORTED_PARALLELCLUSTER_VERSIONS[-1]
#: Why the minors before the oldest served one are not served (a refusal says it).
OLDER_RELEASES_NOT_SERVED = (
    "3.13 and older are not served: their cluster and image stacks create python3.9 Lambda functions, "
    "which Lambda no longer creates, see aws/aws-parallelcluster issue 7287"
)


def release(version: str) -> Release:
    """The served release ``version`` (a ``KeyError`` for a version that is not served)."""
    for candidate in RELEASES:
        if candidate.version == version:
            return candidate
    raise KeyError(version)


def older_than_served(version: str) -> bool:
    """Whether ``version`` (X.Y.Z) is of a minor older than every served one."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < RELEASES[0].minor
