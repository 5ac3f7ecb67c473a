"""update_function_image: SNS notifications of Image Builder point the API function at new images."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from tests.constructs_lib.helper_function.runtime_support import ACCOUNT, REGION, load_runtime

module = load_runtime("api_image", "update_function_image")

FUNCTION_NAME = "ParallelClusterApi-ParallelClusterFunction-8Xb2Yq1LmN3k"
IMAGE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/pcluster-api/3.16.1/4"
REPOSITORY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/parallelclusterapi-pcluster-api"
IMAGE_URI = f"{REPOSITORY}:3.16.1-4"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ParallelClusterApi-ImageBuildNotifications-1AbCdEfGhIjK"

# An Image Builder notification: the `Image` shape of GetImage, as JSON (see test_message_shape).
AVAILABLE_IMAGE: dict[str, Any] = {
    "arn": IMAGE_ARN,
    "type": "DOCKER",
    "name": "pcluster-api",
    "version": "3.16.1/4",
    "platform": "Linux",
    "enhancedImageMetadataEnabled": True,
    "state": {"status": "AVAILABLE"},
    "containerRecipe": {
        "arn": f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:container-recipe/pcluster-api/3.16.1",
        "containerType": "DOCKER",
        "name": "pcluster-api",
        "platform": "Linux",
        "version": "3.16.1",
        "targetRepository": {"service": "ECR", "repositoryName": "parallelclusterapi-pcluster-api"},
    },
    "sourcePipelineName": "pcluster-api",
    "sourcePipelineArn": f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/pcluster-api",
    "infrastructureConfiguration": {
        "arn": f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:infrastructure-configuration/pcluster-api",
        "name": "pcluster-api",
        "instanceTypes": ["c6i.large"],
        "instanceProfileName": "ParallelClusterApi-ImageBuilderInstanceProfile",
        "snsTopicArn": TOPIC_ARN,
    },
    "dateCreated": "2025-06-02T09:14:27.312Z",
    "outputResources": {"containers": [{"region": REGION, "imageUris": [IMAGE_URI]}]},
    "buildType": "USER_INITIATED",
    "imageSource": "CUSTOM",
}


def image(status: str = "AVAILABLE", **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(AVAILABLE_IMAGE)
    result["state"] = {"status": status}
    result.update(changes)
    return result


def record(message: Any) -> dict[str, Any]:
    """An SNS record as Lambda receives it; `message` is sent as is when a string, else as JSON."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": TOPIC_ARN,
            "Subject": None,
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": "2025-06-02T09:41:05.123Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOx==",
            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000.pem",
            "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:2b",
            "MessageAttributes": {},
        },
    }


def event(*messages: Any) -> dict[str, Any]:
    return {"Records": [record(message) for message in messages]}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNCTION_NAME", FUNCTION_NAME)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def lambda_stub() -> Iterator[Stubber]:
    """Every Lambda call must be expected; an unexpected one raises."""
    with Stubber(module.LAMBDA) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_update(stub: Stubber, image_uri: str = IMAGE_URI) -> None:
    stub.add_response(
        "update_function_code",
        {"FunctionName": FUNCTION_NAME, "PackageType": "Image", "LastUpdateStatus": "InProgress"},
        {"FunctionName": FUNCTION_NAME, "ImageUri": image_uri, "Publish": False},
    )


def record_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the handler logged about each record (not its closing summary)."""
    return [log for log in caplog.records if not log.getMessage().startswith("Summary")]


def test_message_shape() -> None:
    """The sample notification is a valid `Image` (the shape GetImage returns) for botocore's model."""
    import boto3

    model = boto3.session.Session(region_name=REGION).client("imagebuilder").meta.service_model
    report = ParamValidator().validate(AVAILABLE_IMAGE, model.shape_for("Image"))
    assert not report.has_errors(), report.generate_report()


def test_available_updates_the_function(lambda_stub: Stubber) -> None:
    expect_update(lambda_stub)

    assert module.handler(event(image()), None) == {"updated": 1, "ignored": 0, "malformed": 0}


def test_available_prefers_the_container_of_the_function_region(lambda_stub: Stubber) -> None:
    other = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/parallelclusterapi-pcluster-api:3.16.1-4"
    containers = [
        {"region": "us-east-1", "imageUris": [other]},
        {"region": REGION, "imageUris": [IMAGE_URI, f"{REPOSITORY}:latest"]},
    ]
    expect_update(lambda_stub)

    module.handler(event(image(outputResources={"containers": containers})), None)


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "BUILDING", "DISTRIBUTING", "DEPRECATED"])
def test_other_statuses_are_ignored(
    lambda_stub: Stubber, status: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    failed = image(status, outputResources={})  # a failed build has no output
    failed["state"]["reason"] = "Workflow Step: Build failed"

    assert module.handler(event(failed), None) == {"updated": 0, "ignored": 1, "malformed": 0}
    (log,) = record_logs(caplog)
    assert log.levelno == (logging.WARNING if status == "FAILED" else logging.INFO)
    assert IMAGE_ARN in log.getMessage() and status in log.getMessage()


@pytest.mark.parametrize(
    ("message", "problem", "arn_known"),
    [
        ("not json {", "JSONDecodeError", False),
        (json.dumps(["a", "list"]), "not a JSON object", False),
        (image(state=None), "no state.status", True),
        ({"arn": IMAGE_ARN, "state": "AVAILABLE"}, "no state.status", True),
        (image(outputResources={"amis": []}), "no outputResources.containers", True),
        (image(outputResources={"containers": []}), "no outputResources.containers", True),
        (image(outputResources={"containers": [{"region": REGION, "imageUris": []}]}), "no container image", True),
        (image(outputResources={"containers": [{"region": REGION}]}), "no container image URI", True),
        (image(outputResources={"containers": ["oops"]}), "no container image URI", True),
    ],
)
def test_malformed_messages_are_reported_not_raised(
    lambda_stub: Stubber, caplog: pytest.LogCaptureFixture, message: Any, problem: str, arn_known: bool
) -> None:
    assert module.handler(event(message), None) == {"updated": 0, "ignored": 0, "malformed": 1}
    (log,) = record_logs(caplog)
    assert log.levelno == logging.ERROR
    assert problem in log.getMessage()
    assert (IMAGE_ARN in log.getMessage()) is arn_known


def test_record_without_message_is_malformed(lambda_stub: Stubber) -> None:
    broken = record(image())
    del broken["Sns"]["Message"]

    assert module.handler({"Records": [broken]}, None) == {"updated": 0, "ignored": 0, "malformed": 1}


def test_several_records_in_one_event(lambda_stub: Stubber) -> None:
    second_uri = f"{REPOSITORY}:3.16.1-5"
    second = image(arn=IMAGE_ARN[:-1] + "5")
    second["outputResources"]["containers"][0]["imageUris"] = [second_uri]
    expect_update(lambda_stub)
    expect_update(lambda_stub, second_uri)

    summary = module.handler(event(image(), image("FAILED"), "{}", second), None)

    assert summary == {"updated": 2, "ignored": 1, "malformed": 1}


def test_no_records(lambda_stub: Stubber) -> None:
    assert module.handler({"Records": []}, None) == {"updated": 0, "ignored": 0, "malformed": 0}


def test_aws_error_is_raised_for_a_retry(lambda_stub: Stubber) -> None:
    lambda_stub.add_client_error(
        "update_function_code",
        service_error_code="ResourceConflictException",
        service_message="An update is in progress for resource: " + FUNCTION_NAME,
        http_status_code=409,
        expected_params={"FunctionName": FUNCTION_NAME, "ImageUri": IMAGE_URI, "Publish": False},
    )

    with pytest.raises(ClientError, match="ResourceConflictException"):
        module.handler(event(image()), None)
