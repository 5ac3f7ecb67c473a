"""The router of an API that serves several ParallelCluster versions behind one endpoint.

The official spec's one integration, ``ParallelClusterFunction``, is then this function: it sends
each request to the API function of the ParallelCluster version the cluster or image was made with
(their stacks' and AMIs' ``parallelcluster:version`` tag), or that a create names
(``X-ParallelCluster-Version``), else to the default version; ``runtime/route_request.py`` says how.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from constructs_lib.audit import policy_statement
from constructs_lib.conventions import Conventions
from constructs_lib.helper_function import HelperFunction
from constructs_lib.l1 import l1
from constructs_lib.parallelcluster_api.function_permissions import PermissionScope

RUNTIME = Path(__file__).parent / "runtime" / "route_request.py"
# Its reads give up within seconds (route_request.READS); beyond that it waits for the version
# function, whose timeout is the API function's. API Gateway ends the request at 29 s anyway.
TIMEOUT = Duration.seconds(40)
# The router parses and writes answers of up to Lambda's 6 MB; about 10 ms a MB at one vCPU, which
# Lambda gives 1,769 MB (Lambda developer guide, "Memory and computing power").
MEMORY_SIZE = 1769


class VersionRouter(Construct):
    """The function in front of the version functions, with only what it needs to choose one.

    :param functions: Each served version's API function.
    :param default_version: The version of creations without the header, of listings, and of
        clusters and images it cannot find.
    :param permissions: Where the API acts (one Region or all): where the router reads stacks and AMIs.
    Attributes: ``function``, ``role``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        default_version: str,
        permissions: PermissionScope,
        conventions: Conventions,
    ) -> None:
        super().__init__(scope, construct_id)
        if default_version not in functions:
            raise ValueError(f"the default version {default_version} is not one of the routed versions {', '.join(functions)}")
        region_limited = (
            None if permissions.every_region.certain else {"StringEquals": {"aws:RequestedRegion": [permissions.region]}}
        )
        helper = HelperFunction(
            self,
            "Router",
            source=RUNTIME,
            description=f"Routes each ParallelCluster API request to the version of its cluster or image ({', '.join(functions)})",
            timeout=TIMEOUT,
            conventions=conventions,
            memory_size=MEMORY_SIZE,
            synchronous_caller="API Gateway",
            environment={
                "VERSION_FUNCTIONS": Stack.of(self).to_json_string(
                    {version: function.function_arn for version, function in functions.items()}
                ),
                "DEFAULT_VERSION": default_version,
            },
            statements=[
                policy_statement(
                    sid="ReadClusterAndImageStacks",
                    actions=["cloudformation:DescribeStacks"],
                    resources=[permissions.arn("cloudformation", "stack/*")],
                    why="Cluster and image stacks are named by users; DescribeStacks only reads their version tag.",
                ),
                policy_statement(
                    sid="ReadImages",
                    actions=["ec2:DescribeImages"],
                    resources=["*"],
                    conditions=region_limited,
                    why="EC2's DescribeImages has no resource-level permissions; it only reads the version tag of "
                    "the account's ParallelCluster images, and X-Ray's writes have none either.",
                ),
                policy_statement(
                    sid="InvokeVersionFunctions",
                    actions=["lambda:InvokeFunction"],
                    resources=[function.function_arn for function in functions.values()],
                ),
            ],
        )
        self.function: lambda_.Function = helper.function
        self.role = helper.role
        self.helper = helper

    def override_logical_id(self, logical_id: str) -> None:
        """Give the router function the logical id the spec's integrations name."""
        l1(self.function, lambda_.CfnFunction).override_logical_id(logical_id)
