"""update_function_image under concurrency: two builds finish together; the function never goes back.

Each build's notification is processed by its own invocation (its own execution environment: a
module instance with its own clients). Image Builder, ECR and Lambda are one account's state,
answered on those real boto3 clients by a botocore ``before-call`` handler (the hook botocore's
Stubber uses): requests are validated by botocore before they reach it, and every answer against
the operation's output shape. Time is simulated: the invocations' waits advance one clock, and a
function update stays ``InProgress`` for ``UPDATE_S`` seconds (meanwhile Lambda answers
ResourceConflictException, as the issue saw). An invocation that raises is retried as Lambda retries
an asynchronous invocation (twice, a minute or two later).

Interleavings: the newer build's whole invocation runs at one step of the older build's, or the
older build's update is still in progress when the newer one's comes. Whatever the order, the end:
the function runs the newer image, the newer image carries the running tag, and no invocation failed.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from tests.constructs_lib.helper_function.runtime_support import ACCOUNT, REGION, load_runtime

FUNCTION_NAME = "ParallelClusterFunction-8131d980-7fb5-11ee-9589-0a6424944f95"
RECIPE_NAME = "parallelclusterapi-3-16-1-1a2b3c4d-8131d980"
VERSION = "3.16.1"
RECIPE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:container-recipe/{RECIPE_NAME}/{VERSION}"
IMAGE_VERSION_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/{RECIPE_NAME}/{VERSION}"
INFRASTRUCTURE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:infrastructure-configuration/parallelclusterapi-8131d980"
PIPELINE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image-pipeline/parallelclusterapi-8131d980"
REPOSITORY_NAME = "parallelclusterapi-apirepositoryaadf3f12-kd82jf7ahw1m"
REPOSITORY_URI = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY_NAME}"
RUNNING_TAG = "function-running"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
# Build 3 runs now; builds 4 (older) and 5 (newer) finish together.
RUNNING, OLDER, NEWER = 3, 4, 5
UPDATE_S = 30
# Lambda retries a failed asynchronous invocation twice (Lambda developer guide, "Asynchronous invocation").
RETRY_DELAYS_S = (60, 120)
TIMEOUT_MS = 300_000  # the updater's timeout (ApiImageBuild.keep_function_current)


def image_arn(build: int) -> str:
    return f"{IMAGE_VERSION_ARN}/{build}"


def digest(build: int) -> str:
    return "sha256:" + f"{build:02d}" * 32


class Account:
    """Image Builder's images, the repository and the function, on one simulated clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.statuses = {RUNNING: "AVAILABLE", OLDER: "AVAILABLE", NEWER: "DISTRIBUTING"}
        self.tags = {f"{VERSION}-{build}": digest(build) for build in self.statuses} | {RUNNING_TAG: digest(RUNNING)}
        self.function_image = f"{REPOSITORY_URI}@{digest(RUNNING)}"
        self.revision = 1
        self.busy_until = -1.0
        self.conflicts = 0
        # Steps at which another invocation runs: (invocation, operation, its call number) -> action.
        self.steps: dict[tuple[str, str, int], Callable[[], None]] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self.log: list[tuple[str, str]] = []

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    # ------------------------------------------------------------ the invocations

    def updater(self, name: str) -> ModuleType:
        """The updater of one invocation: its own module instance and clients, answered by this account."""
        module = load_runtime("api_image", "update_function_image")
        for attribute, service in (("IMAGEBUILDER", "imagebuilder"), ("ECR", "ecr"), ("LAMBDA", "lambda")):
            client = boto3.client(service, region_name=REGION, aws_access_key_id="testing",
                                  aws_secret_access_key="testing")
            # The request's parameters as the updater passed them (botocore validated them), for the answer.
            client.meta.events.register("before-parameter-build.*.*", _keep_parameters)
            client.meta.events.register("before-call.*.*", self._answer(name))
            setattr(module, attribute, client)
        module.SLEEP = self.sleep
        return module

    def context(self) -> Any:
        account, started = self, self.now

        class Context:
            def get_remaining_time_in_millis(self) -> int:
                return int(TIMEOUT_MS - (account.now - started) * 1000)

        return Context()

    def deliver(self, module: ModuleType, build: int) -> list[str]:
        """The notification of ``build``, with Lambda's retries of a failed invocation; the errors raised."""
        message = {"arn": image_arn(build), "state": {"status": "AVAILABLE"}}
        event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(message)}}]}
        errors = []
        for delay in (0, *RETRY_DELAYS_S):
            self.now += delay
            try:
                module.handler(event, self.context())
                return errors
            except Exception as error:  # noqa: BLE001 - what Lambda would retry
                errors.append(type(error).__name__)
        return errors

    def finish(self, build: int) -> None:
        self.statuses[build] = "AVAILABLE"

    # ------------------------------------------------------------ the services

    def _answer(self, invocation: str) -> Callable[..., Any]:
        def before_call(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            key = (invocation, model.name)
            self.counts[key] = self.counts.get(key, 0) + 1
            step = self.steps.pop((invocation, model.name, self.counts[key]), None)
            if step is not None:
                step()
            self.log.append(key)
            try:
                response = getattr(self, model.name)(context["parameters"])
            except Refusal as refusal:
                return AWSResponse("https://aws.example", refusal.status, {}, None), {
                    "Error": {"Code": refusal.code, "Message": refusal.message},
                    "ResponseMetadata": {"HTTPStatusCode": refusal.status}}
            validate_parameters(response, model.output_shape)
            return AWSResponse("https://aws.example", 200, {}, None), {**response, "ResponseMetadata": {"HTTPStatusCode": 200}}

        return before_call

    def _image(self, build: int) -> dict[str, Any]:
        return {
            "arn": image_arn(build), "name": RECIPE_NAME, "type": "DOCKER", "version": f"{VERSION}/{build}",
            "state": {"status": self.statuses[build]},
            "containerRecipe": {"arn": RECIPE_ARN, "targetRepository": {"service": "ECR", "repositoryName": REPOSITORY_NAME}},
            "infrastructureConfiguration": {"arn": INFRASTRUCTURE_ARN},
            "sourcePipelineArn": PIPELINE_ARN,
            "outputResources": {"containers": [{"region": REGION, "imageUris": [f"{REPOSITORY_URI}:{VERSION}-{build}"]}]},
        }

    def GetImage(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"image": self._image(int(body["imageBuildVersionArn"].rsplit("/", 1)[1]))}

    def ListImageBuildVersions(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        assert body["imageVersionArn"] == IMAGE_VERSION_ARN
        summaries = [{"arn": image_arn(build), "name": RECIPE_NAME, "version": f"{VERSION}/{build}",
                      "state": {"status": status}} for build, status in sorted(self.statuses.items())]
        return {"imageSummaryList": summaries}

    def _details(self, image_digest: str) -> dict[str, Any]:
        build = next(build for build in self.statuses if digest(build) == image_digest)
        pushed = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=build)
        tags = sorted(tag for tag, tagged in self.tags.items() if tagged == image_digest)
        return {"registryId": ACCOUNT, "repositoryName": REPOSITORY_NAME, "imageDigest": image_digest,
                "imageTags": tags, "imagePushedAt": pushed, "imageManifestMediaType": MANIFEST_TYPE}

    def DescribeImages(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        (image_id,) = body["imageIds"]
        found = image_id.get("imageDigest") or self.tags.get(image_id.get("imageTag", ""))
        if found is None:
            raise Refusal("ImageNotFoundException", f"tag {image_id} not found")
        return {"imageDetails": [self._details(found)]}

    def BatchGetImage(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        (image_id,) = body["imageIds"]
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": {"digest": image_id["imageDigest"]}})
        return {"images": [{"registryId": ACCOUNT, "repositoryName": REPOSITORY_NAME, "imageId": image_id,
                            "imageManifest": manifest, "imageManifestMediaType": MANIFEST_TYPE}], "failures": []}

    def PutImage(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if self.tags.get(body["imageTag"]) == body["imageDigest"]:
            raise Refusal("ImageAlreadyExistsException", "the tag is already on this image")
        self.tags[body["imageTag"]] = body["imageDigest"]
        return {"image": {"repositoryName": REPOSITORY_NAME,
                          "imageId": {"imageDigest": body["imageDigest"], "imageTag": body["imageTag"]}}}

    def _configuration(self) -> dict[str, Any]:
        status = "InProgress" if self.now < self.busy_until else "Successful"
        return {"FunctionName": FUNCTION_NAME, "PackageType": "Image", "RevisionId": f"revision-{self.revision}",
                "LastUpdateStatus": status}

    def GetFunctionConfiguration(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._configuration()

    def UpdateFunctionCode(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if self.now < self.busy_until:
            self.conflicts += 1
            raise Refusal("ResourceConflictException", f"An update is in progress for resource: {FUNCTION_NAME}", 409)
        if "RevisionId" in body and body["RevisionId"] != f"revision-{self.revision}":
            raise Refusal("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.", 412)
        assert body["Publish"] is False
        self.function_image, self.revision, self.busy_until = body["ImageUri"], self.revision + 1, self.now + UPDATE_S
        return self._configuration()

    # ------------------------------------------------------------ the end

    def runs(self) -> int:
        return next(build for build in self.statuses if self.function_image == f"{REPOSITORY_URI}@{digest(build)}")

    def tagged_running(self) -> int:
        return next(build for build in self.statuses if digest(build) == self.tags[RUNNING_TAG])


def _keep_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["parameters"] = dict(params)


class Refusal(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Account:
    for name, value in {
        "FUNCTION_NAME": FUNCTION_NAME, "RECIPE_ARN": RECIPE_ARN, "INFRASTRUCTURE_ARN": INFRASTRUCTURE_ARN,
        "PIPELINE_ARN": PIPELINE_ARN, "REPOSITORY_NAME": REPOSITORY_NAME, "REPOSITORY_URI": REPOSITORY_URI,
        "RUNNING_TAG": RUNNING_TAG, "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    return Account()


def assert_newer_build_runs_and_is_kept(account: Account) -> None:
    assert account.runs() == NEWER, "the function went back to an older image"
    assert account.tagged_running() == NEWER, "the lifecycle policy keeps another image than the one the function runs"


def the_newer_build_finishes_during(account: Account, operation: str) -> dict[str, list[str]]:
    """Deliver the older build's notification; right before its first ``operation`` call, the newer build
    becomes available and its own invocation runs to the end. The errors each raised."""
    older, newer = account.updater("older"), account.updater("newer")
    errors: dict[str, list[str]] = {}

    def newer_finishes() -> None:
        account.finish(NEWER)
        errors["newer"] = account.deliver(newer, NEWER)

    account.steps[("older", operation, 1)] = newer_finishes
    errors["older"] = account.deliver(older, OLDER)
    assert "newer" in errors, "the interleaving happened"
    return errors


def test_the_newer_build_runs_its_invocation_while_the_older_one_is_about_to_retag(account: Account) -> None:
    """The issue's case: the older build's invocation has found nothing newer, then the newer build's runs
    to the end (its update still in progress); the older one retags itself and hits ResourceConflictException,
    and Lambda's retry would then see its image as the running one."""
    errors = the_newer_build_finishes_during(account, "BatchGetImage")

    assert_newer_build_runs_and_is_kept(account)
    assert errors == {"older": [], "newer": []}


def test_the_newer_build_waits_for_the_older_builds_update_in_progress(account: Account) -> None:
    """The older build is promoted first; the newer one's update meets it in progress and waits for it."""
    older, newer = account.updater("older"), account.updater("newer")

    assert account.deliver(older, OLDER) == []
    assert account.runs() == OLDER
    account.finish(NEWER)
    assert account.deliver(newer, NEWER) == [], "ResourceConflictException waits and retries within the time left"

    assert_newer_build_runs_and_is_kept(account)
    assert account.conflicts >= 1, "the newer update met the older one in progress"


def test_the_newer_build_updates_the_function_just_before_the_older_one_does(account: Account) -> None:
    """The older build's invocation checked just before the newer one was available, and calls
    UpdateFunctionCode right after the newer one's: a conflict, then the older one must give way."""
    errors = the_newer_build_finishes_during(account, "UpdateFunctionCode")

    assert_newer_build_runs_and_is_kept(account)
    assert account.conflicts >= 1
    assert errors == {"older": [], "newer": []}


def test_a_late_notification_of_an_older_build_changes_nothing(account: Account) -> None:
    account.finish(NEWER)
    assert account.deliver(account.updater("newer"), NEWER) == []
    account.now += 3600

    assert account.deliver(account.updater("older"), OLDER) == []

    assert_newer_build_runs_and_is_kept(account)
