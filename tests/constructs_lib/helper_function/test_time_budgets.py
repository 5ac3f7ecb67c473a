"""Every helper ends before its timeout when AWS hangs: an endpoint that accepts connections and never answers.

A custom resource killed by its timeout never replies, and CloudFormation waits out the resource's
service timeout (the issue's preflight: 40 s per hung call, up to 9 calls in 120 s). Each helper's
clients are pointed at a local endpoint that never answers, with the helpers' own timeouts scaled
down (``FAST_CALLS``: the calls really wait for their read timeouts), and the Lambda context's clock
runs for real: the reply must arrive with the time to send it still left, after at least one call.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    RealClockContext,
    ResponseRecorder,
    SilentEndpoint,
    custom_resource_request,
    hang,
    load_runtime,
    response_url,  # noqa: F401 - the fixture
    silent_endpoint,  # noqa: F401 - the fixture
)

PIPELINE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/pcluster-api"
RECIPE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:container-recipe/pcluster-api/3.16.1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/parallelcluster-api/apigateway-account/{REGION}/Api-Role"

# Helper, its clients (module attribute: service), the request, and how many calls the budget allows.
CUSTOM_RESOURCES: dict[str, tuple[str, dict[str, str], str, dict[str, Any], str]] = {
    "preflight": ("api_image", {"EC2": "ec2"}, "Create", {"RecipeArn": RECIPE_ARN}, "image-build-preflight"),
    "service role": (
        "api_image", {"IAM": "iam"}, "Create",
        {"ServiceName": "imagebuilder.amazonaws.com", "RoleName": "AWSServiceRoleForImageBuilder"}, "",
    ),
    "cleanup": ("api_image", {"IMAGEBUILDER": "imagebuilder"}, "Delete", {"ImagePipelineArn": PIPELINE_ARN},
                f"{PIPELINE_ARN}/images-cleanup"),
    "account role create": ("api_logging", {"APIGATEWAY": "apigateway", "APIGATEWAY_V2": "apigatewayv2", "IAM": "iam"},
                            "Create", {"RoleArn": ROLE_ARN}, ""),
    "account role delete": ("api_logging", {"APIGATEWAY": "apigateway", "APIGATEWAY_V2": "apigatewayv2", "IAM": "iam"},
                            "Delete", {"RoleArn": ROLE_ARN}, "apigateway-account-cloudwatch-role"),
}
MODULES = {
    "preflight": "check_build_network",
    "service role": "ensure_service_linked_role",
    "cleanup": "delete_pipeline_images",
    "account role create": "ensure_account_role",
    "account role delete": "ensure_account_role",
}


@pytest.mark.parametrize("helper", sorted(CUSTOM_RESOURCES))
def test_a_custom_resource_replies_in_time_when_aws_hangs(
    helper: str, response_url: ResponseRecorder, silent_endpoint: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    component, clients, request_type, properties, physical_id = CUSTOM_RESOURCES[helper]
    module = load_runtime(component, MODULES[helper])
    monkeypatch.setenv("AWS_REGION", REGION)
    hang(module, monkeypatch, silent_endpoint, **clients)
    # Time for two and a half calls besides the reply: the helper must stop before the third.
    budget_ms = module.REPLY_MS + int(2.5 * module.longest_call_ms())
    event = custom_resource_request(
        request_type, response_url.url, service_token=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:helper",
        resource_type="Custom::Helper", logical_id="Helper", request_id="5f1c3c0e-2d2b-4c8e-9a51-8d2b7c6e4f10",
        properties=properties, physical_id=physical_id,
    )
    context = RealClockContext(budget_ms)

    module.handler(event, context)

    reply = response_url.only
    left_ms = (context.deadline - reply["at"]) * 1000
    assert left_ms >= module.REPLY_MS, f"replied with {left_ms:.0f} ms left"
    assert len(silent_endpoint.connections) >= module.ATTEMPTS, "the helper did call the hung endpoint"
    body = json.loads(reply["body"])
    # Deletes never fail; a check that could not run does not fail the preflight either.
    expected = "FAILED" if helper in ("service role", "account role create") else "SUCCESS"
    assert body["Status"] == expected, body["Reason"]


def test_the_preflight_names_the_checks_it_could_not_make(
    response_url: ResponseRecorder, silent_endpoint: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_runtime("api_image", "check_build_network")
    monkeypatch.setenv("AWS_REGION", REGION)
    hang(module, monkeypatch, silent_endpoint, EC2="ec2")
    event = custom_resource_request(
        "Create", response_url.url, service_token="token", resource_type="Custom::ImageBuildPreflight",
        logical_id="Preflight", request_id="r", properties={"RecipeArn": RECIPE_ARN}, physical_id="",
    )

    # Time for one call and a fifth: the first check gives up on its hung call, the others do not call.
    module.handler(event, RealClockContext(module.REPLY_MS + int(1.2 * module.longest_call_ms())))

    assert response_url.body()["Reason"] == (
        "The image build can start: network not checked (ReadTimeoutError); VPC Block Public Access not checked "
        "(OutOfTime); Allowed AMIs not checked (OutOfTime)"
    )


def test_the_image_updater_stops_before_its_timeout_when_aws_hangs(
    silent_endpoint: SilentEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a custom resource: it raises in time, so that Lambda retries it (and, at last, its dead-letter queue gets the event)."""
    module = load_runtime("api_image", "update_function_image")
    hang(module, monkeypatch, silent_endpoint, IMAGEBUILDER="imagebuilder", ECR="ecr", LAMBDA="lambda")
    arn = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/pcluster-api/3.16.1/4"
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps({"arn": arn})}}]}
    context = RealClockContext(module.KEEP_MS + int(1.5 * module.longest_call_ms()))

    with pytest.raises(Exception) as raised:  # noqa: PT011 - the call's own timeout or the budget's
        module.handler(event, context)

    assert context.get_remaining_time_in_millis() >= module.KEEP_MS
    assert type(raised.value).__name__ in ("ReadTimeoutError", "OutOfTime")
    assert len(silent_endpoint.connections) >= module.ATTEMPTS


def test_the_silent_endpoint_does_hang_a_call(silent_endpoint: SilentEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above can fail: without a budget, a call waits its timeouts out on this endpoint."""
    module = load_runtime("api_image", "check_build_network")
    hang(module, monkeypatch, silent_endpoint, EC2="ec2")
    started = time.monotonic()

    with pytest.raises(Exception, match="Read timeout"):
        module.EC2.describe_vpcs()

    assert time.monotonic() - started >= module.ATTEMPTS * module.READ_TIMEOUT_S
