"""The API's operations as commands named like the official ``pcluster`` CLI's.

ParallelCluster's CLI makes one command per operation of the API's OpenAPI spec: the operation id
in kebab case (``describeCluster``: ``describe-cluster``) with one flag per parameter, named after
it in kebab case (``clusterName``: ``--cluster-name``), five with a short form as well (``-n``,
``-i``, ``-c``, ``-r``). Path, query and body parameters all become flags; the configurations are
read from the file the flag names. :data:`OPERATIONS` is that mapping for the API's 20
operations, the same from ParallelCluster 3.11.1 to 3.16.1; ``tests/pcluster_api_client`` checks
it against what the official CLI and spec of the pinned release define.

Every operation takes a ``region`` query parameter (the Region of the clusters and images it acts
on); ``pcluster-api`` sends it with every command, from ``--region``, so it is not listed here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pcluster_api_client.pages import NEXT_TOKEN, Query

Location = Literal["path", "query", "body"]
#: How a flag's value is read: as it is, as true/false, as a whole number, or from the file it names.
Kind = Literal["string", "boolean", "integer", "file"]

#: The query parameter every operation takes.
REGION = "region"
#: The flags with a short form, as the official CLI defines them.
SHORT_FLAGS = {"clusterName": "-n", "imageId": "-i", "clusterConfiguration": "-c", "imageConfiguration": "-c", "region": "-r"}
BOOLEANS = {"true": True, "false": False}


def flags_of(name: str) -> tuple[str, ...]:
    """The flags of the API parameter ``name``: ``--`` and its kebab case, after its short form if it has one."""
    long = "--" + re.sub("([A-Z])", r"-\1", name).lower()
    short = SHORT_FLAGS.get(name)
    return (short, long) if short else (long,)


@dataclass(frozen=True)
class Parameter:
    """One parameter of an operation, and the flag that sets it."""

    #: The API's name: of the query or path parameter, or of the body's property.
    name: str
    location: Location
    help: str
    kind: Kind = "string"
    required: bool = False
    #: The values the API accepts (an enum of the spec); empty: any.
    choices: tuple[str, ...] = ()
    #: A list: the flag takes one or more values; the query repeats the parameter.
    multiple: bool = False

    @property
    def flags(self) -> tuple[str, ...]:
        return flags_of(self.name)

    def encode(self, value: Any) -> str:
        """``value`` as the query or path carries it."""
        if self.kind == "boolean":
            return "true" if value else "false"
        return str(value)


@dataclass(frozen=True)
class Wait:
    """How ``--wait`` follows an operation to its end: the describe request it polls and the states it reads."""

    #: What the operation acts on, for messages: "cluster" or "image".
    noun: str
    #: Path of the describe operation; its parameter comes from the operation's own.
    describe_path: str
    #: The answer's field that holds the state.
    state_field: str
    running: frozenset[str]
    succeeded: frozenset[str]
    #: A JMESPath expression for the reasons of a failure, in the describe answer.
    reasons: str
    #: For deletions: the describe answer 404 (the resource is gone) ends the wait with success.
    gone_is_success: bool = False


@dataclass(frozen=True)
class Operation:
    """One operation of the API and its command."""

    name: str
    method: str
    #: Path template, with ``{name}`` for each path parameter.
    path: str
    help: str
    parameters: tuple[Parameter, ...] = ()
    wait: Wait | None = None

    @property
    def paginated(self) -> bool:
        """The operation answers page by page (a GET that takes ``nextToken``)."""
        return self.method == "GET" and any(parameter.name == NEXT_TOKEN for parameter in self.parameters)


@dataclass(frozen=True)
class Request:
    method: str
    #: URL-encoded path, from the API's root (``/v3/...``).
    path: str
    query: list[tuple[str, str]]
    body: bytes | None


def request_target(path: str, query: Query) -> str:
    """The path and the query string, encoded as SigV4 expects (RFC 3986); ``path`` is already URL-encoded."""
    return f"{path}?{urlencode(query, quote_via=quote)}" if query else path


def build_request(operation: Operation, values: Mapping[str, Any], region: str) -> Request:
    """The request of ``operation`` for the flags' ``values`` (by API name; None: not given)."""
    path_values: dict[str, str] = {}
    query = [(REGION, region)]
    body: dict[str, Any] = {}
    for parameter in operation.parameters:
        value = values.get(parameter.name)
        if value is None:
            continue
        if parameter.location == "path":
            # A path parameter is one segment: a "/" in it is encoded too.
            path_values[parameter.name] = quote(parameter.encode(value), safe="")
        elif parameter.location == "query":
            items = value if parameter.multiple else [value]
            query += [(parameter.name, parameter.encode(item)) for item in items]
        else:
            body[parameter.name] = value
    has_body = any(parameter.location == "body" for parameter in operation.parameters)
    return Request(
        operation.method,
        operation.path.format(**path_values),
        query,
        json.dumps(body).encode() if has_body else None,
    )


def path_parameters(path: str) -> list[str]:
    """The names of the parameters of a path template, in order."""
    return re.findall(r"\{(\w+)\}", path)


def describe_request(operation: Operation, values: Mapping[str, Any], region: str) -> Request:
    """The describe request that ``--wait`` polls after ``operation``."""
    assert operation.wait is not None
    names = path_parameters(operation.wait.describe_path)
    path = operation.wait.describe_path.format(**{name: quote(str(values[name]), safe="") for name in names})
    return Request("GET", path, [(REGION, region)], None)


# --- The parameters ------------------------------------------------------------------------------

CLUSTER_NAME = Parameter("clusterName", "path", "name of the cluster", required=True)
IMAGE_ID = Parameter("imageId", "path", "id of the image", required=True)
LOG_STREAM_NAME = Parameter("logStreamName", "path", "name of the log stream", required=True)
PAGE_TOKEN = Parameter(NEXT_TOKEN, "query", "start from this page: the nextToken of an earlier answer")
DRYRUN = Parameter(
    "dryrun", "query", "validate the request and the configuration only, create or change nothing", kind="boolean"
)
SUPPRESS_VALIDATORS = Parameter(
    "suppressValidators", "query", "validators to skip: ALL, or type:<ValidatorName> (one or more)", multiple=True
)
VALIDATION_FAILURE_LEVEL = Parameter(
    "validationFailureLevel",
    "query",
    "lowest level of validation message that fails the request",
    choices=("INFO", "WARNING", "ERROR"),
)
LOG_EVENTS = (
    LOG_STREAM_NAME,
    PAGE_TOKEN,
    Parameter("startFromHead", "query", "true: the oldest events first (default: the newest first)", kind="boolean"),
    Parameter("limit", "query", "at most this many events per page", kind="integer"),
    Parameter("startTime", "query", "only events at or after this time (ISO 8601, e.g. 2026-01-01T20:00:00Z)"),
    Parameter("endTime", "query", "only events before this time (ISO 8601)"),
)


def _in_body(parameter: Parameter) -> Parameter:
    return dataclasses.replace(parameter, location="body")


CLUSTER_STATES = (
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "CREATE_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
)
CLUSTER_PATH = "/v3/clusters/{clusterName}"
IMAGE_PATH = "/v3/images/custom/{imageId}"
CLUSTER_FAILURES = "failures[].failureReason"
IMAGE_FAILURES = "[imagebuilderImageStatusReason, cloudformationStackStatusReason]"


def _cluster_wait(running: str, succeeded: str, *, gone_is_success: bool = False) -> Wait:
    return Wait("cluster", CLUSTER_PATH, "clusterStatus", frozenset({running}), frozenset({succeeded}), CLUSTER_FAILURES, gone_is_success)


def _image_wait(running: str, succeeded: str, *, gone_is_success: bool = False) -> Wait:
    return Wait("image", IMAGE_PATH, "imageBuildStatus", frozenset({running}), frozenset({succeeded}), IMAGE_FAILURES, gone_is_success)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "list-clusters",
        "GET",
        "/v3/clusters",
        "list the clusters of the Region",
        (PAGE_TOKEN, Parameter("clusterStatus", "query", "only clusters in these states", choices=CLUSTER_STATES, multiple=True)),
    ),
    Operation(
        "create-cluster",
        "POST",
        "/v3/clusters",
        "create a cluster",
        (
            SUPPRESS_VALIDATORS,
            VALIDATION_FAILURE_LEVEL,
            DRYRUN,
            Parameter("rollbackOnFailure", "query", "roll the stack back if the creation fails (default: true)", kind="boolean"),
            _in_body(CLUSTER_NAME),
            Parameter("clusterConfiguration", "body", "the cluster's configuration file (YAML)", kind="file", required=True),
        ),
        _cluster_wait("CREATE_IN_PROGRESS", "CREATE_COMPLETE"),
    ),
    Operation(
        "delete-cluster",
        "DELETE",
        CLUSTER_PATH,
        "delete a cluster",
        (CLUSTER_NAME,),
        _cluster_wait("DELETE_IN_PROGRESS", "DELETE_COMPLETE", gone_is_success=True),
    ),
    Operation("describe-cluster", "GET", CLUSTER_PATH, "describe a cluster", (CLUSTER_NAME,)),
    Operation(
        "update-cluster",
        "PUT",
        CLUSTER_PATH,
        "update a cluster to a new configuration",
        (
            CLUSTER_NAME,
            SUPPRESS_VALIDATORS,
            VALIDATION_FAILURE_LEVEL,
            DRYRUN,
            Parameter("forceUpdate", "query", "update even where update validators fail", kind="boolean"),
            Parameter("clusterConfiguration", "body", "the cluster's new configuration file (YAML)", kind="file", required=True),
        ),
        _cluster_wait("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"),
    ),
    Operation(
        "describe-compute-fleet", "GET", f"{CLUSTER_PATH}/computefleet", "describe a cluster's compute fleet", (CLUSTER_NAME,)
    ),
    Operation(
        "update-compute-fleet",
        "PATCH",
        f"{CLUSTER_PATH}/computefleet",
        "start or stop a cluster's compute fleet",
        (
            CLUSTER_NAME,
            Parameter(
                "status",
                "body",
                "the fleet's new state",
                required=True,
                choices=("START_REQUESTED", "STOP_REQUESTED", "ENABLED", "DISABLED"),
            ),
        ),
    ),
    Operation(
        "delete-cluster-instances",
        "DELETE",
        f"{CLUSTER_PATH}/instances",
        "terminate a cluster's compute nodes",
        (CLUSTER_NAME, Parameter("force", "query", "go ahead even if no cluster has that name", kind="boolean")),
    ),
    Operation(
        "describe-cluster-instances",
        "GET",
        f"{CLUSTER_PATH}/instances",
        "describe a cluster's instances",
        (
            CLUSTER_NAME,
            PAGE_TOKEN,
            Parameter("nodeType", "query", "only nodes of this type", choices=("HeadNode", "ComputeNode", "LoginNode")),
            Parameter("queueName", "query", "only nodes of this queue"),
        ),
    ),
    Operation(
        "list-cluster-log-streams",
        "GET",
        f"{CLUSTER_PATH}/logstreams",
        "list a cluster's log streams",
        (
            CLUSTER_NAME,
            Parameter("filters", "query", "filters, e.g. Name=node-type,Values=HeadNode (one or more)", multiple=True),
            PAGE_TOKEN,
        ),
    ),
    Operation(
        "get-cluster-log-events",
        "GET",
        f"{CLUSTER_PATH}/logstreams/{{logStreamName}}",
        "read the events of a cluster's log stream",
        (CLUSTER_NAME, *LOG_EVENTS),
    ),
    Operation(
        "get-cluster-stack-events",
        "GET",
        f"{CLUSTER_PATH}/stackevents",
        "read the events of a cluster's CloudFormation stack",
        (CLUSTER_NAME, PAGE_TOKEN),
    ),
    Operation(
        "list-images",
        "GET",
        "/v3/images/custom",
        "list the custom images of the Region",
        (
            PAGE_TOKEN,
            Parameter("imageStatus", "query", "images in this state", required=True, choices=("AVAILABLE", "PENDING", "FAILED")),
        ),
    ),
    Operation(
        "build-image",
        "POST",
        "/v3/images/custom",
        "build a custom image",
        (
            SUPPRESS_VALIDATORS,
            VALIDATION_FAILURE_LEVEL,
            DRYRUN,
            Parameter("rollbackOnFailure", "query", "roll the stack back if the build fails (default: false)", kind="boolean"),
            Parameter("imageConfiguration", "body", "the image's configuration file (YAML)", kind="file", required=True),
            _in_body(IMAGE_ID),
        ),
        _image_wait("BUILD_IN_PROGRESS", "BUILD_COMPLETE"),
    ),
    Operation(
        "delete-image",
        "DELETE",
        IMAGE_PATH,
        "delete a custom image",
        (IMAGE_ID, Parameter("force", "query", "delete even if instances use the image or it is shared", kind="boolean")),
        _image_wait("DELETE_IN_PROGRESS", "DELETE_COMPLETE", gone_is_success=True),
    ),
    Operation("describe-image", "GET", IMAGE_PATH, "describe a custom image", (IMAGE_ID,)),
    Operation(
        "list-image-log-streams",
        "GET",
        f"{IMAGE_PATH}/logstreams",
        "list the log streams of an image build",
        (IMAGE_ID, PAGE_TOKEN),
    ),
    Operation(
        "get-image-log-events",
        "GET",
        f"{IMAGE_PATH}/logstreams/{{logStreamName}}",
        "read the events of an image build's log stream",
        (IMAGE_ID, *LOG_EVENTS),
    ),
    Operation(
        "get-image-stack-events",
        "GET",
        f"{IMAGE_PATH}/stackevents",
        "read the events of an image's CloudFormation stack",
        (IMAGE_ID, PAGE_TOKEN),
    ),
    Operation(
        "list-official-images",
        "GET",
        "/v3/images/official",
        "list ParallelCluster's official images",
        (
            Parameter("os", "query", "only images of this operating system, e.g. alinux2023"),
            Parameter("architecture", "query", "only images of this architecture: x86_64 or arm64"),
        ),
    ),
)
BY_NAME = {operation.name: operation for operation in OPERATIONS}
