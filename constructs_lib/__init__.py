"""CDK constructs that deploy the AWS ParallelCluster API in your own account."""

from constructs_lib.managed_policy_role import ManagedPolicyRole
from constructs_lib.parallelcluster_api import ParallelClusterApi
from constructs_lib.validation import DEFAULT_PARALLELCLUSTER_VERSION, InvalidSettingError

__all__ = ["DEFAULT_PARALLELCLUSTER_VERSION", "InvalidSettingError", "ManagedPolicyRole", "ParallelClusterApi"]
