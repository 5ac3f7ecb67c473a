"""What the router's tests and benchmark share: the router as Lambda runs it, with a configuration;
stacks and AMIs as ParallelCluster tags them; and version functions that answer its invocations.

Not a conftest.py: the end-to-end test and the benchmark import it too.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.constructs_lib.helper_function.runtime_support import CONSTRUCTS_LIB, load_runtime
from tests.lambda_image.events import ACCOUNT, REGION

ROUTER_SOURCE = CONSTRUCTS_LIB / "version_router" / "runtime" / "route_request.py"
# The router's own Region (AWS_REGION) is the one the handler tests create clusters in.
OTHER_REGION = "eu-west-1"


def function_arn(version: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ParallelClusterFunction-{version.replace('.', '-')}"


SERVED_FUNCTIONS = {version: function_arn(version) for version in SUPPORTED_PARALLELCLUSTER_VERSIONS}


def router_environment(functions: dict[str, str], default: str) -> dict[str, str]:
    """The router's environment: its two settings, and the Region Lambda sets."""
    return {"VERSION_FUNCTIONS": json.dumps(functions), "DEFAULT_VERSION": default, "AWS_REGION": REGION}


def load_router(
    functions: dict[str, str] = SERVED_FUNCTIONS, default: str = DEFAULT_PARALLELCLUSTER_VERSION, **environment: str
) -> ModuleType:
    """``route_request`` as Lambda starts it (its inline code) with that configuration; ``environment``
    adds to or replaces (an empty value: removes) variables of the environment it starts in."""
    variables = {**router_environment(functions, default), **environment}
    with mock.patch.dict(os.environ, variables):
        for name in [name for name, value in variables.items() if not value]:
            del os.environ[name]
        return load_runtime("version_router", "route_request")


# ------------------------------------------------------------------ the account, as ParallelCluster tags it


def fake_aws_environment(tmp: Path) -> dict[str, str]:
    """Fake credentials, the Region, no local AWS configuration (files that do not exist in ``tmp``), and
    an account whose only AMIs are its own: moto would otherwise load hundreds of public AMIs into each
    Region it serves, and scan them on every DescribeImages (a cost of moto, not of EC2 or the router)."""
    return {
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_CONFIG_FILE": str(tmp / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"), "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }


def seed(*calls: dict[str, Any]) -> None:
    """Make the calls of the forms below (service, operation, params, region) in the account (moto)."""
    for call in calls:
        getattr(boto3.client(call["service"], region_name=call.get("region", REGION)), call["operation"])(**call["params"])


def tag_ami(tags: list[dict[str, str]], region: str = REGION) -> str:
    """An AMI of the account (moto) with these tags; its id."""
    ec2 = boto3.client("ec2", region_name=region)
    image_id: str = ec2.register_image(Name=f"ami-of-{len(tags)}-tags", RootDeviceName="/dev/xvda")["ImageId"]
    ec2.create_tags(Resources=[image_id], Tags=tags)
    return image_id


# The smallest stack moto creates; ParallelCluster reads a cluster's scheduler from its parameter.
_STACK_TEMPLATE = json.dumps({
    "Parameters": {"Scheduler": {"Type": "String"}},
    "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
})


def cluster_stack(name: str, version: str, *, region: str = REGION, cluster_name_tag: bool = True) -> dict[str, Any]:
    """The call (invoke_handler.py's seed form) creating a stack tagged as ParallelCluster ``version``
    tags a cluster's (pcluster/models/cluster.py: the cluster-name and version tags)."""
    tags = [{"Key": "parallelcluster:version", "Value": version}]
    if cluster_name_tag:
        tags.append({"Key": "parallelcluster:cluster-name", "Value": name})
    return {
        "service": "cloudformation", "operation": "create_stack", "region": region,
        "params": {
            "StackName": name, "TemplateBody": _STACK_TEMPLATE, "Tags": tags,
            "Parameters": [{"ParameterKey": "Scheduler", "ParameterValue": "slurm"}],
        },
    }


def image_stack(image_id: str, version: str, *, region: str = REGION) -> dict[str, Any]:
    """The call creating a stack tagged as an image build's (pcluster/models/imagebuilder.py, _get_cfn_tags)."""
    call = cluster_stack(image_id, version, region=region, cluster_name_tag=False)
    call["params"]["Tags"].append({"Key": "parallelcluster:image_id", "Value": image_id})
    return call


def image_ami_tags(image_id: str, version: str) -> list[dict[str, str]]:
    """The tags ParallelCluster gives the AMI an image build makes (pcluster/templates/imagebuilder_stack.py,
    _get_image_tags), the ones the router reads."""
    return [
        {"Key": "parallelcluster:image_id", "Value": image_id},
        {"Key": "parallelcluster:version", "Value": version},
        {"Key": "parallelcluster:build_status", "Value": "available"},
    ]


# ------------------------------------------------------------------ the version functions

# A version function's answer to an event: (payload, FunctionError or None).
Answer = Callable[[str, dict[str, Any]], tuple[bytes, str | None]]


def api_answer(version: str, event: dict[str, Any]) -> tuple[bytes, str | None]:
    """A REST proxy answer that says which version gave it."""
    body = json.dumps({"answeredBy": version})
    return json.dumps({"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}).encode(), None


@dataclass
class VersionFunctions:
    """Answers the router's Lambda Invoke calls in place of the version functions, and records them.

    A botocore ``before-call`` hook on the router's Lambda client: botocore takes the answer of such
    a hook as the service's (as its Stubber does), so nothing is sent. ``answer`` makes each answer.
    """

    router: ModuleType
    answer: Answer = api_answer
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._versions = {function: version for version, function in self.router.FUNCTIONS.items()}
        self.router.LAMBDA.meta.events.register("before-call.lambda.Invoke", self._invoke)

    def close(self) -> None:
        self.router.LAMBDA.meta.events.unregister("before-call.lambda.Invoke", self._invoke)

    @property
    def versions(self) -> list[str]:
        """The version of each function invoked, in order."""
        return [invocation["version"] for invocation in self.invocations]

    def _invoke(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        # The request as it would be sent: POST /2015-03-31/functions/<FunctionName>/invocations.
        function = unquote(params["url_path"].split("/")[3])
        version = self._versions[function]
        event = json.loads(params["body"])
        self.invocations.append({
            "version": version, "function": function, "event": event,
            "invocation_type": params["headers"].get("X-Amz-Invocation-Type"),
        })
        payload, error = self.answer(version, event)
        parsed: dict[str, Any] = {
            "StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
        }
        if error:
            parsed["FunctionError"] = error
        return AWSResponse(params["url"], 200, {}, None), parsed
