"""The ParallelCluster API component: the construct, its typed props, and its parts.

``api.py`` is the construct; ``props.py`` its typed props; ``function.py`` (the function, its role
and code) and ``rest_api.py`` (the REST API, who may call it, its logs, domain and WAF) add their
resources to it; ``function_permissions.py`` holds what the function may do, each statement with
its reason.
"""

from constructs_lib.parallelcluster_api.api import ParallelClusterApi
from constructs_lib.parallelcluster_api.props import (
    AccountRoleMode,
    ApiEndpoint,
    BuildNetwork,
    CustomDomain,
    FsxS3Access,
    FunctionCode,
    FunctionRole,
)

__all__ = [
    "AccountRoleMode",
    "ApiEndpoint",
    "BuildNetwork",
    "CustomDomain",
    "FsxS3Access",
    "FunctionCode",
    "FunctionRole",
    "ParallelClusterApi",
]
