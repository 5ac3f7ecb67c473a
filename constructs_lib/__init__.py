"""CDK constructs that deploy the AWS ParallelCluster API in your own account.

The names below load on first use, so that ``python -m constructs_lib.client`` (the API client)
starts without the CDK's Node.js runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from constructs_lib.managed_policy_role import ManagedPolicyRole
    from constructs_lib.parallelcluster_api import ParallelClusterApi
    from constructs_lib.validation import DEFAULT_PARALLELCLUSTER_VERSION, InvalidSettingError

_EXPORTS = {
    "ParallelClusterApi": "constructs_lib.parallelcluster_api",
    "ManagedPolicyRole": "constructs_lib.managed_policy_role",
    "DEFAULT_PARALLELCLUSTER_VERSION": "constructs_lib.validation",
    "InvalidSettingError": "constructs_lib.validation",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'constructs_lib' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
