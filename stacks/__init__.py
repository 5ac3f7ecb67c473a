"""Deployable stacks of the app."""

from stacks.parallelcluster_api_stack import ParallelClusterApiStack
from stacks.settings import Settings

__all__ = ["ParallelClusterApiStack", "Settings"]
