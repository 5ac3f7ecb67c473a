"""route_request: each API request goes to the function of the ParallelCluster version it concerns.

The router runs its inline code (as Lambda would) against moto, which holds stacks and AMIs tagged
as ParallelCluster tags them (support.py). The version functions are played by a botocore hook on
the router's Lambda client that records each invocation and answers it (VersionFunctions).
"""

from __future__ import annotations

import base64
import json
import re
from types import ModuleType
from typing import Any

import boto3
import pytest
from packaging.version import Version

from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.constructs_lib.version_router.support import (
    OTHER_REGION,
    REGION,
    SERVED_FUNCTIONS,
    VersionFunctions,
    cluster_stack,
    image_ami_tags,
    image_stack,
    load_router,
)
from tests.lambda_image.events import cluster_event, image_event, rest_event

# The stacks are all parameters and tags: moto warns that it creates nothing for their one resource.
pytestmark = pytest.mark.filterwarnings(r"ignore:Tried to parse AWS\S+WaitConditionHandle:UserWarning")

OLDEST, MIDDLE, NEWEST = SUPPORTED_PARALLELCLUSTER_VERSIONS
CLUSTER = "hpc"
IMAGE = "hpc-image"
SERVED_LIST = ", ".join(SUPPORTED_PARALLELCLUSTER_VERSIONS)
HEADER = "X-ParallelCluster-Version"
# The operations on an existing cluster (the official spec's paths under /v3/clusters/{clusterName})
# other than update-cluster: each accepts clusters of its own or an older version.
CLUSTER_OPERATIONS = [
    ("GET", ""), ("DELETE", ""), ("GET", "/computefleet"), ("PATCH", "/computefleet"), ("GET", "/instances"),
    ("DELETE", "/instances"), ("GET", "/logstreams"), ("GET", "/logstreams/{logStreamName}"), ("GET", "/stackevents"),
]
IMAGE_OPERATIONS = [("GET", ""), ("DELETE", ""), ("GET", "/logstreams"), ("GET", "/logstreams/{logStreamName}"), ("GET", "/stackevents")]


def on_cluster(method: str, suffix: str = "", name: str = CLUSTER, **kwargs: Any) -> dict[str, Any]:
    return with_log_stream(cluster_event(method, name, suffix, **kwargs))


def on_image(method: str, suffix: str = "", image_id: str = IMAGE, query: dict[str, str] | None = None) -> dict[str, Any]:
    return with_log_stream(image_event(method, image_id, suffix, query))


def with_log_stream(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` of a resource under {logStreamName}, with a log stream's name in its path."""
    if "{logStreamName}" in event["resource"]:
        event["path"] = event["path"].replace("{logStreamName}", "stream-1")
        event["pathParameters"]["logStreamName"] = "stream-1"
    return event


def update(name: str = CLUSTER, configuration: str = "Region: us-east-1\n", query: dict[str, str] | None = None) -> dict[str, Any]:
    return cluster_event("PUT", name, query=query, body={"clusterConfiguration": configuration})


def create_cluster(**headers: str) -> dict[str, Any]:
    event = rest_event("POST", "/v3/clusters", body={"clusterName": "new", "clusterConfiguration": "Region: us-east-1\n"})
    return with_headers(event, headers)


def build_image(**headers: str) -> dict[str, Any]:
    event = rest_event("POST", "/v3/images/custom", body={"imageId": "new-image", "imageConfiguration": "Build: {}\n"})
    return with_headers(event, headers)


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    event["headers"].update(headers)
    event["multiValueHeaders"].update({name: [value] for name, value in headers.items()})
    return event


def bad_request(answer: dict[str, Any]) -> str:
    """The message of a 400 answer, checked to be in the handler's form for an event with multiValueHeaders."""
    assert answer["statusCode"] == 400, answer
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert answer["multiValueHeaders"]["Content-Length"] == [str(len(answer["body"].encode()))]
    assert answer["isBase64Encoded"] is False
    body = json.loads(answer["body"])
    assert list(body) == ["message"]
    message: str = body["message"]
    return message


# ------------------------------------------------------------------------------------- clusters


def name_of(version: str) -> str:
    """The name of a cluster or image of ``version``."""
    return "v" + re.sub(r"\W", "-", version)


def test_a_cluster_goes_to_the_version_that_created_it(aws, router, functions):
    aws.seed(*(cluster_stack(name_of(version), version) for version in SUPPORTED_PARALLELCLUSTER_VERSIONS))

    for version in SUPPORTED_PARALLELCLUSTER_VERSIONS:
        for method, suffix in CLUSTER_OPERATIONS:
            answer = router.handler(on_cluster(method, suffix, name=name_of(version)), None)
            assert (functions.versions[-1], json.loads(answer["body"])) == (version, {"answeredBy": version}), (method, suffix)
        router.handler(update(name_of(version)), None)
        assert functions.versions[-1] == version, "update"


# A version not served -> the oldest served version that accepts its clusters.
ACCEPTING = {
    "3.15.0": MIDDLE,  # an older patch of a served minor: that minor's served patch
    "3.14.0": OLDEST,
    "3.13.1": OLDEST,  # older than every served version: the oldest accepts it
    "3.0.0": OLDEST,
    "3.16.0b1": NEWEST,  # a pre-release is older than its release
}
# Newer than every served version, of another major version, or not a version at all.
NOT_ACCEPTED = ["3.17.0", "3.16.2", "4.0.0", "2.11.9", "latest"]


def test_other_operations_on_a_cluster_of_a_version_not_served_go_to_the_oldest_version_that_accepts_it(aws, router, functions):
    aws.seed(*(cluster_stack(name_of(created), created) for created in ACCEPTING))

    for created, acting in ACCEPTING.items():
        for method, suffix in CLUSTER_OPERATIONS:
            router.handler(on_cluster(method, suffix, name=name_of(created)), None)
            assert functions.versions[-1] == acting, (created, method, suffix)


def test_update_of_a_cluster_of_a_version_not_served_is_refused(aws, router, functions):
    aws.seed(*(cluster_stack(name_of(created), created) for created in [*ACCEPTING, *NOT_ACCEPTED]))

    for created in [*ACCEPTING, *NOT_ACCEPTED]:
        message = bad_request(router.handler(update(name_of(created)), None))
        assert message == (
            f"Bad Request: cluster '{name_of(created)}' was created by ParallelCluster {created}, which this API does not serve; "
            f"it serves {SERVED_LIST}, and update-cluster needs the version that created the cluster."
        )
    assert functions.invocations == []


def test_a_cluster_no_served_version_can_act_on_is_refused(aws, router, functions):
    aws.seed(*(cluster_stack(name_of(created), created) for created in NOT_ACCEPTED))

    for created in NOT_ACCEPTED:
        for method, suffix in CLUSTER_OPERATIONS:
            message = bad_request(router.handler(on_cluster(method, suffix, name=name_of(created)), None))
            assert message == (
                f"Bad Request: cluster '{name_of(created)}' was created by ParallelCluster {created}, which this API does not "
                f"serve; it serves {SERVED_LIST}, and none of them acts on a cluster of a newer version, nor of another major version."
            )
    assert functions.invocations == []


def test_an_unknown_cluster_goes_to_the_default_version(aws, router, functions):
    # The default version answers 404, as the API always did.
    router.handler(on_cluster("GET", name="nosuchcluster"), None)
    router.handler(update("nosuchcluster"), None)

    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * 2


def test_a_stack_that_is_not_a_cluster_goes_to_the_default_version(aws, router, functions):
    # An image's stack, and a stack with a version tag but no cluster name: ParallelCluster refuses them.
    aws.seed(image_stack("an-image", OLDEST), cluster_stack("untagged", OLDEST, cluster_name_tag=False))
    aws.seed({**cluster_stack("no-version", OLDEST), "params": {**cluster_stack("no-version", OLDEST)["params"], "Tags": []}})

    for name in ("an-image", "untagged", "no-version"):
        router.handler(on_cluster("GET", name=name), None)

    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * 3


def reads(router: ModuleType, service: str, region: str = REGION) -> list[str]:
    """The operations the router's ``service`` client in ``region`` calls from now on."""
    calls: list[str] = []
    router.client(service, region).meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def test_a_name_no_stack_can_have_is_not_looked_up(aws, router, functions):
    # Only names CloudFormation allows for a stack: DescribeStacks would also take a stack's ARN.
    names = ["arn:aws:cloudformation:us-east-1:123456789012:stack/hpc/1", "under_score", "9lives", "a" * 129]
    calls = reads(router, "cloudformation")

    for name in names:
        router.handler(on_cluster("GET", name=name), None)

    assert calls == []
    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * len(names)


def test_the_request_region_is_where_the_cluster_is_read(aws, router, functions):
    aws.seed(cluster_stack(CLUSTER, OLDEST), cluster_stack(CLUSTER, MIDDLE, region=OTHER_REGION))

    router.handler(on_cluster("GET", query={"region": OTHER_REGION}), None)
    router.handler(on_cluster("GET"), None)  # no region: the function's own, as ParallelCluster does
    router.handler(on_cluster("GET", query={"region": REGION}), None)

    assert functions.versions == [MIDDLE, OLDEST, OLDEST]


@pytest.mark.parametrize(
    "configuration",
    [
        f"Region: {OTHER_REGION}\nImage:\n  Os: alinux2023\n",
        f"Image:\n  Os: alinux2023\nRegion: '{OTHER_REGION}'  # the cluster's\n",
        json.dumps({"Image": {"Os": "alinux2023"}, "Region": OTHER_REGION}),
    ],
    ids=["yaml", "yaml-quoted", "json"],
)
def test_update_without_a_region_reads_the_cluster_in_the_region_of_its_configuration(aws, router, functions, configuration):
    # As ParallelCluster's configure_aws_region_from_config: the parameter, else the configuration's Region.
    aws.seed(cluster_stack(CLUSTER, OLDEST), cluster_stack(CLUSTER, MIDDLE, region=OTHER_REGION))

    router.handler(update(configuration=configuration), None)
    router.handler(update(configuration=configuration, query={"region": REGION}), None)
    router.handler(update(configuration="Image:\n  Os: alinux2023\n  Region: nested-is-not-top-level\n"), None)

    assert functions.versions == [MIDDLE, OLDEST, OLDEST]


def test_a_region_that_is_no_region_name_is_not_read(aws, router, functions):
    # ParallelCluster answers 400 for it.
    calls = reads(router, "cloudformation")

    router.handler(on_cluster("GET", query={"region": "not a region"}), None)

    assert calls == []
    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION]


def test_a_cluster_costs_one_read(aws, router, functions):
    aws.seed(cluster_stack(CLUSTER, OLDEST))
    calls = reads(router, "cloudformation")

    router.handler(on_cluster("GET"), None)

    assert calls == ["DescribeStacks"]


def test_a_stack_that_cannot_be_read_leaves_the_request_to_the_default_version(aws, router, functions, monkeypatch):
    # The version function then meets ParallelCluster's own version check (and the same error).
    aws.seed(cluster_stack(CLUSTER, OLDEST))
    refused = boto3.client("cloudformation", region_name=OTHER_REGION, endpoint_url="http://127.0.0.1:9", config=router.READS)
    monkeypatch.setitem(router._CLIENTS, ("cloudformation", OTHER_REGION), refused)
    denied = reads(router, "cloudformation")

    def access_denied(**_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform cloudformation:DescribeStacks"}}
        return AWSResponse("", 403, {}, None), {**error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    router.client("cloudformation", REGION).meta.events.register("before-call", access_denied)
    try:
        router.handler(on_cluster("GET"), None)  # AccessDenied
        router.handler(on_cluster("GET", query={"region": OTHER_REGION}), None)  # connection refused
    finally:
        router.client("cloudformation", REGION).meta.events.unregister("before-call", access_denied)

    assert denied == ["DescribeStacks"]
    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * 2


# ------------------------------------------------------------------------------------- images


def test_an_image_goes_to_the_version_that_built_it_from_its_stack_while_it_builds(aws, router, functions):
    aws.seed(*(image_stack(name_of(version), version) for version in SUPPORTED_PARALLELCLUSTER_VERSIONS))

    for version in SUPPORTED_PARALLELCLUSTER_VERSIONS:
        for method, suffix in IMAGE_OPERATIONS:
            router.handler(on_image(method, suffix, image_id=name_of(version)), None)
            assert functions.versions[-1] == version, (method, suffix)


def test_an_image_goes_to_the_version_that_built_it_from_its_ami_once_its_stack_is_gone(aws, router, functions):
    for version in SUPPORTED_PARALLELCLUSTER_VERSIONS:
        aws.tag_ami(image_ami_tags(name_of(version), version))

    for version in SUPPORTED_PARALLELCLUSTER_VERSIONS:
        for method, suffix in IMAGE_OPERATIONS:
            router.handler(on_image(method, suffix, image_id=name_of(version)), None)
            assert functions.versions[-1] == version, (method, suffix)


def test_an_image_is_read_in_the_request_region(aws, router, functions):
    aws.tag_ami(image_ami_tags(IMAGE, MIDDLE), region=OTHER_REGION)
    aws.seed(image_stack(IMAGE, OLDEST))

    router.handler(on_image("GET", query={"region": OTHER_REGION}), None)
    router.handler(on_image("GET"), None)

    assert functions.versions == [MIDDLE, OLDEST]


def test_an_image_of_a_version_not_served_goes_to_the_default_version(aws, router, functions):
    # The API checks no version on images.
    aws.seed(image_stack("building", "3.13.1"))
    aws.tag_ami(image_ami_tags("built", "3.17.0"))

    router.handler(on_image("GET", image_id="building"), None)
    router.handler(on_image("DELETE", image_id="built"), None)

    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * 2


def test_an_unknown_image_goes_to_the_default_version(aws, router, functions):
    aws.seed(cluster_stack(IMAGE, OLDEST))  # a cluster's stack of that name is not an image
    aws.tag_ami([{"Key": "parallelcluster:version", "Value": OLDEST}])  # nor an AMI without the image id

    router.handler(on_image("GET"), None)
    router.handler(on_image("GET", image_id="nosuchimage"), None)

    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * 2


def test_an_image_costs_a_stack_and_an_ami_read(aws, router, functions):
    aws.tag_ami(image_ami_tags(IMAGE, OLDEST))
    stack_reads, image_reads = reads(router, "cloudformation"), reads(router, "ec2")

    router.handler(on_image("GET"), None)

    assert (stack_reads, image_reads) == (["DescribeStacks"], ["DescribeImages"])


# ------------------------------------------------------------------------------------- creating, listing


@pytest.mark.parametrize("create", [create_cluster, build_image])
def test_a_creation_goes_to_the_default_version_or_the_one_its_header_names(aws, router, functions, create):
    router.handler(create(), None)
    router.handler(create(**{HEADER: OLDEST}), None)
    router.handler(create(**{"x-parallelcluster-version": MIDDLE}), None)  # header names are case-insensitive
    router.handler(create(**{"X-PARALLELCLUSTER-VERSION": NEWEST}), None)

    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION, OLDEST, MIDDLE, NEWEST]


def test_the_header_is_read_from_multi_value_headers_too(aws, router, functions):
    event = create_cluster()
    event["headers"] = None
    event["multiValueHeaders"][HEADER] = [OLDEST]

    router.handler(event, None)

    assert functions.versions == [OLDEST]


@pytest.mark.parametrize("create", [create_cluster, build_image])
def test_a_creation_with_a_version_not_served_is_refused(aws, router, functions, create):
    for named in ["3.13.1", "3.17.0", "latest", ""]:
        message = bad_request(router.handler(create(**{HEADER: named}), None))
        assert message == (
            f"Bad Request: ParallelCluster version {named!r} (header X-ParallelCluster-Version) is not served by this API; "
            f"it serves {SERVED_LIST}."
        )
    assert functions.invocations == []


def test_everything_else_goes_to_the_default_version(aws, router, functions):
    # Listing: the default version lists the clusters and images of every version. The header only
    # chooses the version of a creation.
    paths = ["/v3/clusters", "/v3/images/custom", "/v3/images/official", "/v3/nosuchpath"]
    for path in paths:
        router.handler(with_headers(rest_event("GET", path, {"region": REGION}), {HEADER: OLDEST}), None)

    assert functions.versions == [DEFAULT_PARALLELCLUSTER_VERSION] * len(paths)


def test_the_default_version_is_the_configured_one(aws, functions):
    router = load_router(default=OLDEST)
    version_functions = VersionFunctions(router)

    router.handler(rest_event("GET", "/v3/clusters"), None)
    router.handler(on_cluster("GET", name="nosuchcluster"), None)

    assert version_functions.versions == [OLDEST, OLDEST]


def test_a_router_serving_some_versions_routes_among_those(aws):
    # A cluster newer than the default version goes to its own version instead of being refused.
    router = load_router({OLDEST: SERVED_FUNCTIONS[OLDEST], NEWEST: SERVED_FUNCTIONS[NEWEST]}, default=OLDEST)
    version_functions = VersionFunctions(router)
    aws.seed(cluster_stack("newer", NEWEST), cluster_stack("between", MIDDLE), cluster_stack("older", "3.13.1"))

    router.handler(on_cluster("GET", name="newer"), None)
    router.handler(on_cluster("GET", name="between"), None)
    router.handler(on_cluster("GET", name="older"), None)
    message = bad_request(router.handler(update("between"), None))

    assert version_functions.versions == [NEWEST, NEWEST, OLDEST]
    assert f"it serves {OLDEST}, {NEWEST}," in message


# ------------------------------------------------------------------------------------- what passes through


def test_the_version_function_gets_the_event_and_its_answer_is_returned_unchanged(aws, router, functions):
    # Its status, headers (either form), base64 body; up to the 6 MB of a synchronous invocation's answer.
    aws.seed(cluster_stack(CLUSTER, OLDEST))
    answer = {
        "statusCode": 207,
        "multiValueHeaders": {"Content-Type": ["application/octet-stream"], "X-Custom": ["a", "b"]},
        "body": base64.b64encode(bytes(range(256)) * 16_000).decode(),  # 5.5 MB of JSON
        "isBase64Encoded": True,
    }
    payload = json.dumps(answer).encode()
    assert 5_000_000 < len(payload) < 6 * 1024 * 1024
    functions.answer = lambda version, event: (payload, None)
    event = on_cluster("GET", query={"region": REGION})

    assert router.handler(event, None) == answer

    [invocation] = functions.invocations
    assert invocation["event"] == event
    assert invocation["function"] == SERVED_FUNCTIONS[OLDEST]
    assert invocation["invocation_type"] == "RequestResponse"  # synchronous


def test_a_version_function_that_fails_makes_the_router_fail(aws, router, functions):
    # Lambda reports the failure as FunctionError; the router's own failure makes API Gateway answer 502.
    error = {"errorMessage": "Unexpected fatal exception. Please look at API logs for details on the encountered failure.",
             "errorType": "Exception", "stackTrace": ["..."]}
    functions.answer = lambda version, event: (json.dumps(error).encode(), "Unhandled")

    with pytest.raises(router.VersionFunctionError) as failure:
        router.handler(rest_event("GET", "/v3/clusters"), None)

    assert str(failure.value) == (
        f"the function of ParallelCluster {DEFAULT_PARALLELCLUSTER_VERSION} failed (Unhandled): Exception: {error['errorMessage']}"
    )


def test_a_refusal_has_the_headers_form_of_the_event(aws, router, functions):
    # As the handler answers: multiValueHeaders when the event has them, else headers.
    event = create_cluster(**{HEADER: "3.0.0"})
    event["multiValueHeaders"] = None

    answer = router.handler(event, None)

    assert "multiValueHeaders" not in answer
    assert answer["headers"] == {"Content-Type": "application/json", "Content-Length": str(len(answer["body"]))}
    assert answer["statusCode"] == 400


# ------------------------------------------------------------------------------------- versions, settings


def test_versions_are_ordered_as_packaging_orders_them(router):
    # ParallelCluster compares versions with packaging.version (check_cluster_version).
    versions = ["3.0.0a0", "3.0.0", "3.13.1", "3.14", "3.14.0.0", "3.14.1", "3.15.0b1", "3.15.0rc2", "3.15.0", "3.15.1", "4.0.0"]
    for first in versions:
        for second in versions:
            assert (router.version_key(first) < router.version_key(second)) == (Version(first) < Version(second)), (first, second)
            assert (router.version_key(first) == router.version_key(second)) == (Version(first) == Version(second)), (first, second)
    assert router.OLDEST_ACCEPTED == router.version_key("3.0.0a0")
    for other in ("latest", "3.16.1.dev0", "3.16.1.post1", "v3.16.1", ""):
        assert router.version_key(other) is None


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"VERSION_FUNCTIONS": ""}, "VERSION_FUNCTIONS must be a JSON object of each served ParallelCluster version to its function"),
        ({"VERSION_FUNCTIONS": "{not json"}, "VERSION_FUNCTIONS must be a JSON object"),
        ({"VERSION_FUNCTIONS": "{}"}, "VERSION_FUNCTIONS must be a JSON object"),
        ({"VERSION_FUNCTIONS": '["3.16.1"]'}, "VERSION_FUNCTIONS must be a JSON object"),
        ({"VERSION_FUNCTIONS": '{"latest": "arn"}'}, "VERSION_FUNCTIONS must be a JSON object"),
        ({"VERSION_FUNCTIONS": '{"3.16.1": ""}'}, "VERSION_FUNCTIONS must be a JSON object"),
        ({"DEFAULT_VERSION": ""}, f"DEFAULT_VERSION must be one of the versions of VERSION_FUNCTIONS ({SERVED_LIST}), not ''"),
        ({"DEFAULT_VERSION": "3.17.0"}, "DEFAULT_VERSION must be one of the versions of VERSION_FUNCTIONS"),
    ],
)
def test_a_bad_setting_stops_the_function_as_it_starts_with_one_line_naming_it(environment, message):
    with pytest.raises(Exception, match="^" + re.escape(message)) as failure:
        load_router(**environment)

    assert type(failure.value).__name__ == "ConfigurationError"
    assert "\n" not in str(failure.value)
