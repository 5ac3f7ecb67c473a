"""update_function_image: only images this stack's recipe built reach the API function, by digest.

Image Builder, ECR and Lambda are played by botocore's Stubber, which checks every request and
every answer against the services' models; a call the test does not expect fails it. Messages
are tried as an attacker would send them (published to the topic or by invoking the updater):
anything but the image ARN in them is ignored, and the ARN is looked up.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from botocore.validate import ParamValidator

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    ClockContext,
    FakeContext,
    load_runtime,
    page,
)

module = load_runtime("api_image", "update_function_image")

FUNCTION_NAME = "ParallelClusterFunction-8131d980-7fb5-11ee-9589-0a6424944f95"
RECIPE_NAME = "parallelclusterapi-3-16-1-1a2b3c4d-8131d980"
RECIPE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:container-recipe/{RECIPE_NAME}/3.16.1"
INFRASTRUCTURE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:infrastructure-configuration/parallelclusterapi-3-16-1-8131d980"
IMAGE_VERSION_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/{RECIPE_NAME}/3.16.1"
IMAGE_ARN = f"{IMAGE_VERSION_ARN}/4"
REVISION = "4ba5f1d6-3c2e-4f7a-9b1d-0e8c7a6f5d42"
PIPELINE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/parallelclusterapi-3-16-1-8131d980"
REPOSITORY_NAME = "parallelclusterapi-apirepositoryaadf3f12-kd82jf7ahw1m"
REPOSITORY_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY_NAME}"
TAG = "3.16.1-4"
DIGEST = "sha256:" + "4e" * 32
RUNNING_DIGEST = "sha256:" + "3d" * 32
RUNNING_TAG = "function-running"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ParallelClusterApi-ApiImageBuildNotifications1DCBF5F8-1AbCdEfGhIjK"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"

# The image as GetImage describes it (Image Builder user guide, "SNS message format": the
# notification is the same JSON); see test_sample_image_is_valid.
IMAGE: dict[str, Any] = {
    "arn": IMAGE_ARN,
    "type": "DOCKER",
    "name": "ParallelClusterApi-3_16_1-1a2b3c4d-8131d980",
    "version": "3.16.1/4",
    "platform": "Linux",
    "enhancedImageMetadataEnabled": True,
    "state": {"status": "AVAILABLE"},
    "containerRecipe": {
        "arn": RECIPE_ARN,
        "containerType": "DOCKER",
        "name": "ParallelClusterApi-3_16_1-1a2b3c4d-8131d980",
        "platform": "Linux",
        "version": "3.16.1",
        "targetRepository": {"service": "ECR", "repositoryName": REPOSITORY_NAME},
    },
    "sourcePipelineName": "ParallelClusterApi-3_16_1-8131d980",
    "sourcePipelineArn": PIPELINE_ARN,
    "infrastructureConfiguration": {
        "arn": INFRASTRUCTURE_ARN,
        "name": "ParallelClusterApi-3_16_1-8131d980",
        "instanceProfileName": "ParallelClusterApi-ApiImageBuildInstanceProfile-9QpLmZ3xYt2R",
        "snsTopicArn": TOPIC_ARN,
    },
    "dateCreated": "2025-06-02T09:14:27.312Z",
    "outputResources": {"containers": [{"region": REGION, "imageUris": [f"{REPOSITORY_URI}:{TAG}"]}]},
    "buildType": "USER_INITIATED",
    "imageSource": "CUSTOM",
}


def image(status: str = "AVAILABLE", **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(IMAGE)
    result["state"] = {"status": status}
    result.update(changes)
    return result


def ami_image() -> dict[str, Any]:
    """An image built from an (AMI) image recipe: no container recipe at all."""
    result = image(type="AMI", imageRecipe={"arn": f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-recipe/x/1.0.0"})
    del result["containerRecipe"]
    return result


def record(message: Any) -> dict[str, Any]:
    """An SNS record as Lambda receives it; ``message`` is sent as is when a string, else as JSON."""
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


def outcome(**counts: int) -> dict[str, int]:
    return {**dict.fromkeys(module.OUTCOMES, 0), **counts}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "FUNCTION_NAME": FUNCTION_NAME,
        "RECIPE_ARN": RECIPE_ARN,
        "INFRASTRUCTURE_ARN": INFRASTRUCTURE_ARN,
        "PIPELINE_ARN": PIPELINE_ARN,
        "REPOSITORY_NAME": REPOSITORY_NAME,
        "REPOSITORY_URI": REPOSITORY_URI,
        "RUNNING_TAG": RUNNING_TAG,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)


class Services:
    """One Stubber per client; every call must be expected, in order."""

    def __init__(self) -> None:
        self.imagebuilder = Stubber(module.IMAGEBUILDER)
        self.ecr = Stubber(module.ECR)
        self.lambda_ = Stubber(module.LAMBDA)
        self.all = (self.imagebuilder, self.ecr, self.lambda_)

    def get_image(self, described: dict[str, Any], arn: str = IMAGE_ARN) -> None:
        self.imagebuilder.add_response("get_image", {"image": described}, {"imageBuildVersionArn": arn})

    def describe(self, image_id: dict[str, str], digest: str, pushed: datetime.datetime, tags: list[str]) -> None:
        details = {
            "registryId": ACCOUNT,
            "repositoryName": REPOSITORY_NAME,
            "imageDigest": digest,
            "imageTags": tags,
            "imageSizeInBytes": 612_000_000,
            "imagePushedAt": pushed,
            "imageManifestMediaType": MANIFEST_TYPE,
        }
        self.ecr.add_response(
            "describe_images", {"imageDetails": [details]}, {"repositoryName": REPOSITORY_NAME, "imageIds": [image_id]}
        )

    def tag_missing(self, tag: str) -> None:
        self.ecr.add_client_error(
            "describe_images", service_error_code="ImageNotFoundException", http_status_code=400,
            expected_params={"repositoryName": REPOSITORY_NAME, "imageIds": [{"imageTag": tag}]},
        )

    def builds(self, *builds: tuple[int, str], token: str = "", next_token: str = "") -> None:
        """ListImageBuildVersions of the recipe version answers these (build number, status)."""
        summaries = [{"arn": f"{IMAGE_VERSION_ARN}/{build}", "name": RECIPE_NAME, "type": "DOCKER",
                      "version": f"3.16.1/{build}", "state": {"status": status}} for build, status in builds]
        params, response = page({"imageVersionArn": IMAGE_VERSION_ARN, "maxResults": 100},
                                {"requestId": "r", "imageSummaryList": summaries}, token, next_token)
        self.imagebuilder.add_response("list_image_build_versions", response, params)

    def manifest(self, digest: str = DIGEST) -> None:
        self.ecr.add_response(
            "batch_get_image",
            {"images": [{"registryId": ACCOUNT, "repositoryName": REPOSITORY_NAME, "imageId": {"imageDigest": digest},
                         "imageManifest": MANIFEST, "imageManifestMediaType": MANIFEST_TYPE}], "failures": []},
            {"repositoryName": REPOSITORY_NAME, "imageIds": [{"imageDigest": digest}], "acceptedMediaTypes": module.MANIFEST_TYPES},
        )

    def put(self, digest: str = DIGEST, already: bool = False) -> None:
        put = {"repositoryName": REPOSITORY_NAME, "imageManifest": MANIFEST, "imageManifestMediaType": MANIFEST_TYPE,
               "imageTag": RUNNING_TAG, "imageDigest": digest}
        if already:
            self.ecr.add_client_error("put_image", service_error_code="ImageAlreadyExistsException", http_status_code=400,
                                      expected_params=put)
        else:
            self.ecr.add_response("put_image", {"image": {"repositoryName": REPOSITORY_NAME, "imageId": {
                "imageDigest": digest, "imageTag": RUNNING_TAG}}}, put)

    def configuration(self, revision: str = REVISION) -> None:
        self.lambda_.add_response(
            "get_function_configuration",
            {"FunctionName": FUNCTION_NAME, "PackageType": "Image", "RevisionId": revision, "LastUpdateStatus": "Successful"},
            {"FunctionName": FUNCTION_NAME},
        )

    def update(self, digest: str = DIGEST, revision: str = REVISION, error: str = "") -> None:
        params = {"FunctionName": FUNCTION_NAME, "ImageUri": f"{REPOSITORY_URI}@{digest}", "Publish": False,
                  "RevisionId": revision}
        if error:
            status = {"ResourceConflictException": 409, "PreconditionFailedException": 412}.get(error, 400)
            self.lambda_.add_client_error("update_function_code", service_error_code=error, http_status_code=status,
                                          service_message=f"{error} for {FUNCTION_NAME}", expected_params=params)
        else:
            self.lambda_.add_response(
                "update_function_code",
                {"FunctionName": FUNCTION_NAME, "PackageType": "Image", "LastUpdateStatus": "InProgress"},
                params,
            )

    def up_to_the_update(self, described: dict[str, Any] = IMAGE) -> None:
        """The calls for an AVAILABLE image of this stack, nothing newer, until the function is read."""
        self.get_image(described)
        self.describe({"imageTag": TAG}, DIGEST, PUSHED, [TAG])
        self.manifest()
        self.builds((3, "AVAILABLE"), (4, "AVAILABLE"))  # checked right before the retag
        self.put()
        self.configuration()
        self.builds((3, "AVAILABLE"), (4, "AVAILABLE"))  # and right before the update

    def genuine(self, described: dict[str, Any] = IMAGE) -> None:
        """The calls for an AVAILABLE image of this stack, nothing newer: tagged, then the function updated."""
        self.up_to_the_update(described)
        self.update()


PUSHED = datetime.datetime(2025, 6, 2, 9, 40, tzinfo=datetime.UTC)


# A Lambda context with the updater's five minutes, whose clock does not run.
CONTEXT = FakeContext(300_000)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ClockContext:
    """The updater's five minutes on a clock that only its waits advance."""
    context = ClockContext(300_000)
    monkeypatch.setattr(module, "SLEEP", context.sleep)
    return context


@pytest.fixture
def aws() -> Iterator[Services]:
    services = Services()
    for stub in services.all:
        stub.activate()
    try:
        yield services
        for stub in services.all:
            stub.assert_no_pending_responses()
    finally:
        for stub in services.all:
            stub.deactivate()


def record_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the handler logged about each record (not its closing summary)."""
    return [log for log in caplog.records if log.name == module.LOGGER.name and not log.getMessage().startswith("Summary")]


def test_sample_image_is_valid() -> None:
    """The sample is a valid ``Image`` (the shape GetImage returns) for botocore's model."""
    import boto3

    model = boto3.session.Session(region_name=REGION).client("imagebuilder").meta.service_model
    report = ParamValidator().validate(IMAGE, model.shape_for("Image"))
    assert not report.has_errors(), report.generate_report()


# ---------------------------------------------------------------- the genuine path


def test_available_image_is_tagged_and_run_by_digest(aws: Services) -> None:
    aws.genuine()

    assert module.handler(event(image()), CONTEXT) == outcome(updated=1)


def test_only_the_arn_of_the_message_is_read(aws: Services) -> None:
    """The message claims another output; the function runs what Image Builder says it built."""
    forged = image(outputResources={"containers": [{"region": REGION, "imageUris": ["evil.example.com/x:1"]}]})
    aws.genuine()

    assert module.handler(event(forged), CONTEXT) == outcome(updated=1)


def test_older_and_unfinished_builds_do_not_stop_the_promotion(aws: Services) -> None:
    """Only an AVAILABLE build with a higher number is newer: not the running one, a build still going, a failed one."""
    aws.get_image(IMAGE)
    aws.describe({"imageTag": TAG}, DIGEST, PUSHED, [TAG])
    aws.manifest()
    aws.builds((1, "AVAILABLE"), (3, "AVAILABLE"), (4, "AVAILABLE"), next_token="page-2")
    aws.builds((5, "BUILDING"), (6, "FAILED"), (7, "CANCELLED"), token="page-2")
    aws.put()
    aws.configuration()
    aws.builds((3, "AVAILABLE"), (4, "AVAILABLE"), (5, "DISTRIBUTING"))
    aws.update()

    assert module.handler(event(image()), CONTEXT) == outcome(updated=1)


def test_older_image_does_not_roll_the_function_back(aws: Services, caplog: pytest.LogCaptureFixture) -> None:
    """A replayed or delayed notification of an older build of this recipe: genuine, but neither tagged nor run."""
    aws.get_image(IMAGE)
    aws.describe({"imageTag": TAG}, DIGEST, PUSHED, [TAG])
    aws.manifest()
    aws.builds((4, "AVAILABLE"), next_token="page-2")
    aws.builds((5, "AVAILABLE"), token="page-2")

    assert module.handler(event(image()), CONTEXT) == outcome(ignored=1)
    (log,) = record_logs(caplog)
    assert log.getMessage() == f"Image {IMAGE_ARN} ({DIGEST}) is not promoted: the newer build {IMAGE_VERSION_ARN}/5 is available"


def test_a_newer_build_available_before_the_update_stops_it(aws: Services, caplog: pytest.LogCaptureFixture) -> None:
    """Checked again right before the update: the newer build's own invocation points the function at it."""
    aws.get_image(IMAGE)
    aws.describe({"imageTag": TAG}, DIGEST, PUSHED, [TAG])
    aws.manifest()
    aws.builds((4, "AVAILABLE"), (5, "DISTRIBUTING"))
    aws.put()
    aws.configuration()
    aws.builds((4, "AVAILABLE"), (5, "AVAILABLE"))

    assert module.handler(event(image()), CONTEXT) == outcome(ignored=1)
    assert record_logs(caplog)[-1].getMessage() == (
        f"Image {IMAGE_ARN} is not promoted: the newer build {IMAGE_VERSION_ARN}/5 is available"
    )


def test_retry_of_the_running_image_updates_the_function_again(aws: Services) -> None:
    """Idempotent: a retry after the Lambda update failed finds the tag already in place."""
    aws.get_image(IMAGE)
    aws.describe({"imageTag": TAG}, DIGEST, PUSHED, [TAG, RUNNING_TAG])
    aws.manifest()
    aws.builds((4, "AVAILABLE"))
    aws.put(already=True)
    aws.configuration()
    aws.builds((4, "AVAILABLE"))
    aws.update()

    assert module.handler(event(image()), CONTEXT) == outcome(updated=1)


def test_image_the_stack_built_is_tagged_but_left_to_cloudformation(aws: Services) -> None:
    """A stack update's AWS::ImageBuilder::Image: CloudFormation updates the function itself.

    Updating it here as well would race CloudFormation's update (ResourceConflictException).
    """
    built_by_the_stack = image()
    del built_by_the_stack["sourcePipelineArn"], built_by_the_stack["sourcePipelineName"]
    aws.get_image(built_by_the_stack)
    aws.describe({"imageTag": TAG}, DIGEST, PUSHED, [TAG])
    aws.manifest()
    aws.builds((4, "AVAILABLE"))
    aws.put()

    assert module.handler(event(image()), CONTEXT) == outcome(tagged=1)


def test_an_update_in_progress_is_waited_for(aws: Services, clock: ClockContext) -> None:
    """ResourceConflictException: another update (another build's, CloudFormation's) is in progress."""
    aws.up_to_the_update()
    aws.update(error="ResourceConflictException")
    aws.configuration()
    aws.builds((4, "AVAILABLE"))
    aws.update(error="ResourceConflictException")
    aws.configuration()
    aws.builds((4, "AVAILABLE"))
    aws.update()

    assert module.handler(event(image()), clock) == outcome(updated=1)
    assert clock.sleeps == [2.0, 4.0]


def test_a_function_changed_since_it_was_read_is_read_and_checked_again(aws: Services, clock: ClockContext) -> None:
    """PreconditionFailedException: an update came between the read and this one (the RevisionId moved on)."""
    aws.up_to_the_update()
    aws.update(error="PreconditionFailedException")
    aws.configuration("b0c1d2e3-0000-4000-8000-000000000001")
    aws.builds((4, "AVAILABLE"))
    aws.update(revision="b0c1d2e3-0000-4000-8000-000000000001")

    assert module.handler(event(image()), clock) == outcome(updated=1)
    assert clock.sleeps == []


def test_an_update_in_progress_until_time_runs_out_is_raised_for_a_retry(aws: Services, clock: ClockContext) -> None:
    """Each wait must leave time for the read, the check and the update, then KEEP_MS: else Lambda retries later."""
    # Room for one 2 s wait and a round after it, not for the 4 s wait after that.
    clock.remaining_ms = 3 * module.longest_call_ms() + module.KEEP_MS + 3_000
    aws.up_to_the_update()
    aws.update(error="ResourceConflictException")
    aws.configuration()
    aws.builds((4, "AVAILABLE"))
    aws.update(error="ResourceConflictException")

    with pytest.raises(ClientError, match="ResourceConflictException"):
        module.handler(event(image()), clock)
    assert clock.sleeps == [2.0]


# ---------------------------------------------------------------- forged messages


def test_another_accounts_image_is_refused_by_iam(aws: Services, caplog: pytest.LogCaptureFixture) -> None:
    """The updater may only read this recipe's images: GetImage of any other is denied."""
    other = "arn:aws:imagebuilder:eu-west-1:210987654321:image/pcluster-api/3.16.1/1"
    aws.imagebuilder.add_client_error(
        "get_image", service_error_code="AccessDeniedException", http_status_code=403,
        service_message="User is not authorized to perform: imagebuilder:GetImage", expected_params={"imageBuildVersionArn": other},
    )

    assert module.handler(event(image(arn=other)), CONTEXT) == outcome(refused=1)
    (log,) = record_logs(caplog)
    assert log.levelno == logging.WARNING and other in log.getMessage() and "AccessDeniedException" in log.getMessage()


@pytest.mark.parametrize(
    ("described", "problem"),
    [
        (image(containerRecipe={**IMAGE["containerRecipe"], "arn": RECIPE_ARN.replace("1a2b3c4d", "ffffffff")}),
         "built from recipe"),
        (ami_image(), "built from recipe None"),
        (image(infrastructureConfiguration={"arn": INFRASTRUCTURE_ARN + "-copy"}), "infrastructure configuration"),
        (image(sourcePipelineArn=PIPELINE_ARN + "-theirs"), "built by pipeline"),
        (image(containerRecipe={**IMAGE["containerRecipe"], "targetRepository": {"service": "ECR", "repositoryName": "attacker"}}),
         "targets repository attacker"),
        (image(outputResources={"containers": [{"region": REGION, "imageUris": [f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/other:1"]}]}),
         "no output image"),
        (image(outputResources={"containers": [{"region": "us-east-1", "imageUris": [f"{REPOSITORY_URI}:{TAG}"]}]}),
         "no output image"),
        (image(outputResources={}), "no output image"),
    ],
    ids=["other recipe", "AMI recipe", "other infrastructure", "other pipeline", "other repository", "output elsewhere",
         "output in another Region", "no output"],
)
def test_images_not_built_by_this_stack_for_this_repository_are_refused(
    aws: Services, caplog: pytest.LogCaptureFixture, described: dict[str, Any], problem: str
) -> None:
    """E.g. someone reusing the stack's infrastructure configuration with a recipe of their own."""
    aws.get_image(described)

    assert module.handler(event(image()), CONTEXT) == outcome(refused=1)
    (log,) = record_logs(caplog)
    assert problem in log.getMessage()


def test_tag_not_in_the_repository_is_refused(aws: Services) -> None:
    aws.get_image(IMAGE)
    aws.tag_missing(TAG)

    assert module.handler(event(image()), CONTEXT) == outcome(refused=1)


def test_message_claiming_available_for_a_failed_build_is_not_promoted(aws: Services) -> None:
    aws.get_image(image("FAILED", outputResources={}))

    assert module.handler(event(image()), CONTEXT) == outcome(failed=1)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("not json {", "JSONDecodeError"),
        (json.dumps(["a", "list"]), "no Image Builder image ARN"),
        ({"state": {"status": "AVAILABLE"}}, "no Image Builder image ARN"),
        ({"arn": RECIPE_ARN}, "no Image Builder image ARN"),
        ({"arn": IMAGE_ARN + "/../../x"}, "no Image Builder image ARN"),
        ({"arn": ["not", "a", "string"]}, "no Image Builder image ARN"),
    ],
)
def test_malformed_messages_are_reported_not_raised(
    aws: Services, caplog: pytest.LogCaptureFixture, message: Any, problem: str
) -> None:
    assert module.handler(event(message), CONTEXT) == outcome(malformed=1)
    (log,) = record_logs(caplog)
    assert log.levelno == logging.ERROR and problem in log.getMessage()


def test_record_without_message_is_malformed(aws: Services) -> None:
    broken = record(image())
    del broken["Sns"]["Message"]

    assert module.handler({"Records": [broken, "not a record"]}, CONTEXT) == outcome(malformed=2)


# ---------------------------------------------------------------- failed builds and other statuses


def test_failed_build_is_logged_with_its_reason_and_build_log(aws: Services, caplog: pytest.LogCaptureFixture) -> None:
    failed = image("FAILED", outputResources={})
    failed["state"]["reason"] = (
        "SSM execution '89b8eb74-5708-4b3d-877e-707d26208a07' failed for image arn: '...' with status = 'TimedOut' "
        "in state = 'BUILDING' and failure message = 'SSM Agent verification failed'"
    )
    aws.get_image(failed)

    assert module.handler(event(image("FAILED")), CONTEXT) == outcome(failed=1)
    (log,) = record_logs(caplog)
    assert log.levelno == logging.WARNING
    message = log.getMessage()
    assert IMAGE_ARN in message and "SSM Agent verification failed" in message
    assert "/aws/imagebuilder/ParallelClusterApi-3_16_1-1a2b3c4d-8131d980, stream 3.16.1/4" in message


def test_failed_build_names_the_images_own_log_group(aws: Services, caplog: pytest.LogCaptureFixture) -> None:
    aws.get_image(image("FAILED", loggingConfiguration={"logGroupName": "/aws/imagebuilder/custom"}))

    module.handler(event(image("FAILED")), CONTEXT)
    (log,) = record_logs(caplog)
    assert "group /aws/imagebuilder/custom, stream" in log.getMessage()


def test_failed_build_of_another_recipe_is_refused_not_reported(aws: Services) -> None:
    aws.get_image(image("FAILED", containerRecipe={**IMAGE["containerRecipe"], "arn": RECIPE_ARN + "0"}))

    assert module.handler(event(image("FAILED")), CONTEXT) == outcome(refused=1)


@pytest.mark.parametrize("status", ["BUILDING", "DISTRIBUTING", "CANCELLED", "DEPRECATED", "DELETED"])
def test_other_statuses_are_ignored(aws: Services, status: str) -> None:
    aws.get_image(image(status))

    assert module.handler(event(image(status)), CONTEXT) == outcome(ignored=1)


def test_several_records_in_one_event(aws: Services) -> None:
    aws.genuine()
    aws.get_image(image("FAILED", outputResources={}))

    summary = module.handler(event(image(), image("FAILED"), "{}"), CONTEXT)

    assert summary == outcome(updated=1, failed=1, malformed=1)


def test_no_records(aws: Services) -> None:
    assert module.handler({"Records": []}, CONTEXT) == outcome()


# ---------------------------------------------------------------- errors a retry may fix


def test_image_builder_error_is_raised_for_a_retry(aws: Services) -> None:
    aws.imagebuilder.add_client_error("get_image", service_error_code="ServiceUnavailableException", http_status_code=503)

    with pytest.raises(ClientError, match="ServiceUnavailableException"):
        module.handler(event(image()), CONTEXT)


def test_lambda_error_is_raised_for_a_retry(aws: Services) -> None:
    aws.up_to_the_update()
    aws.update(error="InvalidParameterValueException")

    with pytest.raises(ClientError, match="InvalidParameterValueException"):
        module.handler(event(image()), CONTEXT)
