"""CDK constructs that deploy the AWS ParallelCluster API in your own account."""

from constructs_lib.managed_policy_role import ManagedPolicyRole
from constructs_lib.parallelcluster_api import (
    AccountRoleMode,
    ApiEndpoint,
    BuildNetwork,
    CustomDomain,
    FsxS3Access,
    FunctionCode,
    FunctionRole,
    ParallelClusterApi,
)
from constructs_lib.validation import InvalidSettingError
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS

__all__ = [
    "DEFAULT_PARALLELCLUSTER_VERSION",
    "SUPPORTED_PARALLELCLUSTER_VERSIONS",
    "AccountRoleMode",
    "ApiEndpoint",
    "BuildNetwork",
    "CustomDomain",
    "FsxS3Access",
    "FunctionCode",
    "FunctionRole",
    "InvalidSettingError",
    "ManagedPolicyRole",
    "ParallelClusterApi",
]
