"""The ParallelCluster API component: the construct and the permissions of its function."""

from constructs_lib.parallelcluster_api.api import ParallelClusterApi

__all__ = ["ParallelClusterApi"]
