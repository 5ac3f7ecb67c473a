"""The CloudFormation resource an L2 construct wraps, typed (``node.default_child`` is optional)."""

from __future__ import annotations

from typing import TypeVar

from aws_cdk import CfnResource
from constructs import IConstruct

T = TypeVar("T", bound=CfnResource)


def l1(construct: IConstruct, kind: type[T]) -> T:
    """``construct.node.default_child`` as ``kind`` (e.g. ``lambda_.CfnFunction``), checked."""
    child = construct.node.default_child
    if not isinstance(child, kind):
        raise TypeError(f"{construct.node.path} wraps {type(child).__name__}, not {kind.__name__}")
    return child
