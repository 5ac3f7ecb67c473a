"""The ParallelCluster releases this project serves (no CDK import: tools and test setup read it).

A release is supported once it was checked: the function's permissions against what the release
calls and makes CloudFormation create (tests/constructs_lib/parallelcluster_api/coverage), and
its image against its locked environment (lambda_image/locks, tests/lambda_image). Another
release needs the same checks before it is listed here.
"""

SUPPORTED_PARALLELCLUSTER_VERSIONS = ("3.16.1",)
DEFAULT_PARALLELCLUSTER_VERSION = SUPPORTED_PARALLELCLUSTER_VERSIONS[-1]
