"""Send each ParallelCluster API request to the API function of the ParallelCluster version it concerns.

The REST API's one integration (the official spec's ``ParallelClusterFunction``) is this function;
behind it is one API function per served ParallelCluster version. It receives the API Gateway REST
API proxy event (payload format 1.0), picks a version, invokes that version's function
synchronously with the same event and returns its answer unchanged. A version function that fails
(``FunctionError``) makes this function fail too, so that API Gateway answers as it would have
(502).

Which version:

* A cluster (``/v3/clusters/{clusterName}`` and under it): the version that created it, the tag
  ``parallelcluster:version`` of its stack (ParallelCluster's ``ClusterStack.version``; a cluster's
  stack is named after the cluster and also has the tag ``parallelcluster:cluster-name``), read in
  the request's Region: the query parameter ``region``, for update-cluster else the configuration's
  top-level ``Region`` (ParallelCluster's ``configure_aws_region_from_config``), else this
  function's own ``AWS_REGION``. A version that is not served: ParallelCluster's own rule
  (``check_cluster_version`` in ``pcluster/api/controllers/common.py``) is that update-cluster
  needs the exact version that created the cluster, and every other operation accepts clusters of
  its own or an older 3.x version. So update-cluster goes to that exact version, every other
  operation to the oldest served version not older than the cluster's (the exact one when it is
  served); when no served version can act on the cluster, the answer is a 400 that names its
  version and the served ones.
* An image (``/v3/images/custom/{imageId}`` and under it): the version that built it, the tag
  ``parallelcluster:version`` of its stack (named after the image) or, once the stack is gone
  (the image stack deletes itself after a successful build), of its AMI, which ParallelCluster
  tags ``parallelcluster:image_id`` (an AMI owned by the account). The API checks no version on
  images: a version that is not served gets the default version.
* create-cluster and build-image: the version named by the request header
  ``X-ParallelCluster-Version`` (400 when it is not served), else the default version.
* Everything else (list-clusters, list-images, the official images) and unknown clusters or images
  (which the default version answers with 404, as it always did): the default version. So does a
  request whose stack or AMI cannot be read (an error of CloudFormation or EC2, logged): the version
  function then meets ParallelCluster's own version check, which refuses what it cannot act on.

Environment (besides what Lambda sets):

* ``VERSION_FUNCTIONS``: a JSON object of each served ParallelCluster version (``X.Y.Z``) to the
  name or ARN of its API function, e.g. ``{"3.15.1": "arn:aws:lambda:...", "3.16.1": "..."}``.
* ``DEFAULT_VERSION``: one of those versions.

A setting that is missing or malformed stops the function as it starts (Lambda then fails every
invocation, and API Gateway answers 502) with one line naming the setting and the form it takes.

Warm, a request costs at most two reads (a cluster: one ``cloudformation:DescribeStacks``; an
image: ``DescribeStacks`` and ``ec2:DescribeImages`` at once) and the invocation. The clients of
each Region are made once per execution environment; reads time out and give up quickly.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

VERSION_TAG = "parallelcluster:version"
CLUSTER_NAME_TAG = "parallelcluster:cluster-name"
IMAGE_ID_TAG = "parallelcluster:image_id"
VERSION_HEADER = "X-ParallelCluster-Version"
# Resources of the official spec, as API Gateway names them in the event's "resource".
CLUSTER_RESOURCE = "/v3/clusters/{clusterName}"
IMAGE_RESOURCE = "/v3/images/custom/{imageId}"
CREATIONS = {("POST", "/v3/clusters"), ("POST", "/v3/images/custom")}
UPDATE_CLUSTER = ("PUT", CLUSTER_RESOURCE)

# A stack name: letters, digits and hyphens, starting with a letter, at most 128 characters
# (CloudFormation's CreateStack). A cluster or image has a stack of its name; another name (an ARN
# among them, which DescribeStacks would also accept) is nothing to look up.
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# The top-level Region key of a YAML cluster configuration (a JSON one is read as JSON).
CONFIGURATION_REGION = re.compile(r"""^Region[ \t]*:[ \t]*["']?([a-z0-9-]+)["']?[ \t]*(?:#.*)?$""", re.MULTILINE)

# Reads answer in tens of milliseconds; one that does not answer in seconds is given up (with one
# retry, botocore's standard mode: throttling and transient errors) and the request goes to the
# default version. The invocation waits for the version function, whose timeout (at most Lambda's
# 900 s) ends it first; it is never retried, since a version function may not run a request twice
# (create-cluster).
READS = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})
INVOCATIONS = Config(connect_timeout=2, read_timeout=900, retries={"mode": "standard", "max_attempts": 1})


class ConfigurationError(Exception):
    """A setting of the function's environment is missing or malformed."""


class VersionFunctionError(Exception):
    """The version function failed; so does the router, and API Gateway answers as it would have."""


# ------------------------------------------------------------------------------------------ versions

VersionKey = tuple[tuple[int, ...], tuple[int, int]]
_VERSION = re.compile(r"(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?")
_PRE_RELEASE = {"a": 0, "b": 1, "rc": 2}
_FINAL = (3, 0)


def version_key(version: str) -> VersionKey | None:
    """``version`` in PEP 440's order (``packaging.version``, which ParallelCluster compares with), for
    releases and pre-releases (``3.16.1``, ``3.0.0a0``); None for any other form."""
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        return None
    release = [int(part) for part in match.group(1).split(".")]
    while len(release) > 1 and release[-1] == 0:  # 3.16 == 3.16.0
        release.pop()
    kind, number = match.group(2), match.group(3)
    return tuple(release), (_PRE_RELEASE[kind], int(number)) if kind else _FINAL


# check_cluster_version: no version acts on a cluster older than 3.0.0a0.
OLDEST_ACCEPTED: VersionKey = ((3,), (_PRE_RELEASE["a"], 0))


def _configuration(environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """(served version -> function, default version) from ``environ``, or ConfigurationError."""
    example = '{"3.15.1": "arn:aws:lambda:...:function:...", "3.16.1": "..."}'
    try:
        functions = json.loads(environ.get("VERSION_FUNCTIONS", ""))
    except ValueError:
        functions = None
    if not (
        isinstance(functions, dict)
        and functions
        and all(isinstance(version, str) and version_key(version) for version in functions)
        and all(isinstance(function, str) and function for function in functions.values())
    ):
        raise ConfigurationError(
            f"VERSION_FUNCTIONS must be a JSON object of each served ParallelCluster version to its function, e.g. {example}"
        )
    default = environ.get("DEFAULT_VERSION", "")
    if default not in functions:
        raise ConfigurationError(f"DEFAULT_VERSION must be one of the versions of VERSION_FUNCTIONS ({', '.join(functions)}), not {default!r}")
    return functions, default


def _served_key(version: str) -> VersionKey:
    key = version_key(version)
    assert key is not None  # the served versions were checked as the function started
    return key


def _base(version: str) -> VersionKey:
    """A served version's release without its pre-release (packaging's ``base_version``)."""
    return _served_key(version)[0], _FINAL


FUNCTIONS, DEFAULT_VERSION = _configuration(os.environ)
SERVED = sorted(FUNCTIONS, key=_served_key)  # oldest first
OWN_REGION = os.environ["AWS_REGION"]


# ------------------------------------------------------------------------------------------ clients

_CLIENTS: dict[tuple[str, str], Any] = {}


def client(service: str, region: str) -> Any:
    """The read client of ``service`` in ``region``, made once per execution environment."""
    key = (service, region)
    if key not in _CLIENTS:
        _CLIENTS[key] = boto3.client(service, region_name=region, config=READS)
    return _CLIENTS[key]


# Made while the function starts (Lambda's init phase), not during the first request.
client("cloudformation", OWN_REGION)
client("ec2", OWN_REGION)
LAMBDA = boto3.client("lambda", region_name=OWN_REGION, config=INVOCATIONS)
# An image's stack and AMI are read at the same time.
READERS = ThreadPoolExecutor(max_workers=2)


# ------------------------------------------------------------------------------------------ routing


class Route(NamedTuple):
    """Where a request goes: ``version``'s function, or (``version`` None) a 400 with ``reason``."""

    version: str | None
    reason: str


def handler(event: dict[str, Any], context: Any) -> Any:
    started = time.perf_counter()
    route = route_of(event)
    LOGGER.info(
        "%s %s -> %s: %s (%.1f ms)",
        event.get("httpMethod"), event.get("path"), route.version or "400", route.reason, (time.perf_counter() - started) * 1000,
    )
    if route.version is None:
        return bad_request(event, route.reason)
    return invoke(route.version, event)


def route_of(event: dict[str, Any]) -> Route:
    method, resource = event.get("httpMethod"), event.get("resource") or ""
    parameters = event.get("pathParameters") or {}
    if resource == CLUSTER_RESOURCE or resource.startswith(CLUSTER_RESOURCE + "/"):
        update = (method, resource) == UPDATE_CLUSTER
        return _cluster_route(parameters.get("clusterName"), _region(event, update), update=update)
    if resource == IMAGE_RESOURCE or resource.startswith(IMAGE_RESOURCE + "/"):
        return _image_route(parameters.get("imageId"), _region(event, update=False))
    if (method, resource) in CREATIONS:
        named = _header(event, VERSION_HEADER)
        if named is None:
            return Route(DEFAULT_VERSION, "the default version")
        if named.strip() in FUNCTIONS:
            return Route(named.strip(), f"named by {VERSION_HEADER}")
        return Route(None, f"ParallelCluster version {named!r} (header {VERSION_HEADER}) is not served by this API; it serves {_served()}.")
    return Route(DEFAULT_VERSION, "the default version")


def _cluster_route(name: str | None, region: str | None, *, update: bool) -> Route:
    tags = _stack_tags(name, region)
    if isinstance(tags, str):
        return Route(DEFAULT_VERSION, tags)
    version = tags.get(VERSION_TAG)
    if CLUSTER_NAME_TAG not in tags or version is None:
        return Route(DEFAULT_VERSION, f"stack {name} in {region} is not a ParallelCluster 3 cluster")
    created = version_key(version)
    if update:
        able = [served for served in SERVED if version_key(served) == created]
    else:
        # check_cluster_version: a version acts on clusters of its own release or older ones.
        able = [served for served in SERVED if created is not None and OLDEST_ACCEPTED <= created <= _base(served)]
    if able:
        return Route(able[0], f"cluster {name} in {region} was created by {version}")
    if update:
        why = "update-cluster needs the version that created the cluster"
    else:
        why = "none of them acts on a cluster of a newer version, nor of another major version"
    return Route(None, f"cluster '{name}' was created by ParallelCluster {version}, which this API does not serve; it serves {_served()}, and {why}.")


def _image_route(image_id: str | None, region: str | None) -> Route:
    if region is not None:
        # Made here, not in the readers' threads: a boto3 session is not thread-safe.
        client("cloudformation", region)
        client("ec2", region)
    found = [READERS.submit(read, image_id, region) for read in (_stack_tags, _ami_tags)]
    tags = [future.result() for future in found]
    for read in tags:
        if isinstance(read, dict) and read.get(IMAGE_ID_TAG) == image_id and VERSION_TAG in read:
            version = read[VERSION_TAG]
            served = [served for served in SERVED if version_key(served) == version_key(version)]
            if served:
                return Route(served[0], f"image {image_id} in {region} was built by {version}")
            return Route(DEFAULT_VERSION, f"image {image_id} in {region} was built by {version}, which is not served")
    return Route(DEFAULT_VERSION, "; ".join(read for read in tags if isinstance(read, str)) or f"no image {image_id} in {region}")


def _stack_tags(name: str | None, region: str | None) -> dict[str, str] | str:
    """The tags of the stack ``name`` in ``region``, or why there are none to read."""
    if name is None or region is None or not STACK_NAME.fullmatch(name):
        return f"no stack to read for {name!r} in {region!r}"
    try:
        stacks = client("cloudformation", region).describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        # A stack that does not exist: "ValidationError", "Stack with id <name> does not exist".
        if error.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(error):
            return f"no stack {name} in {region}"
        LOGGER.warning("Could not read stack %s in %s: %s", name, region, error)
        return f"stack {name} in {region} could not be read"
    except BotoCoreError as error:
        LOGGER.warning("Could not read stack %s in %s: %s", name, region, error)
        return f"stack {name} in {region} could not be read"
    return {tag["Key"]: tag["Value"] for tag in stacks[0].get("Tags") or []}


def _ami_tags(image_id: str | None, region: str | None) -> dict[str, str] | str:
    """The tags of the account's AMI that ParallelCluster tagged with ``image_id``, or why there are none."""
    if image_id is None or region is None or not STACK_NAME.fullmatch(image_id):
        return f"no AMI to look up for {image_id!r} in {region!r}"
    try:
        images = client("ec2", region).describe_images(
            Owners=["self"], Filters=[{"Name": f"tag:{IMAGE_ID_TAG}", "Values": [image_id]}]
        )["Images"]
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("Could not look up the AMI of image %s in %s: %s", image_id, region, error)
        return f"the AMI of {image_id} in {region} could not be looked up"
    if not images:
        return f"no AMI of {image_id} in {region}"
    return {tag["Key"]: tag["Value"] for tag in images[0].get("Tags") or []}


def _region(event: dict[str, Any], update: bool) -> str | None:
    """The Region the request is about, as ParallelCluster picks it; None if it is not a Region's name."""
    region = (event.get("queryStringParameters") or {}).get("region")
    if not region and update:
        region = _configuration_region(event.get("body"))
    region = region or OWN_REGION
    return region if REGION_NAME.fullmatch(region) else None


def _configuration_region(body: Any) -> str | None:
    """The top-level ``Region`` of an update-cluster request's cluster configuration, if it has one."""
    try:
        configuration = json.loads(body)["clusterConfiguration"]
    except (TypeError, ValueError, KeyError):
        return None
    if not isinstance(configuration, str):
        return None
    try:
        as_json = json.loads(configuration)  # JSON is YAML too
    except ValueError:
        match = CONFIGURATION_REGION.search(configuration)
        return match.group(1) if match else None
    region = as_json.get("Region") if isinstance(as_json, dict) else None
    return region if isinstance(region, str) else None


def _header(event: dict[str, Any], name: str) -> str | None:
    """The request header ``name`` (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return str(values[-1])
    return None


def _served() -> str:
    return ", ".join(SERVED)


# ------------------------------------------------------------------------------------------ answers


def bad_request(event: dict[str, Any], message: str) -> dict[str, Any]:
    """A 400 as ParallelCluster's handler answers one to a REST API proxy event (``generate_response`` of
    ``pcluster/api/awslambda/serverless_wsgi.py``): ``{"message": ...}`` in JSON, its headers as
    ``multiValueHeaders`` when the event has them, else as ``headers``."""
    body = json.dumps({"message": f"Bad Request: {message}"}, separators=(",", ":")) + "\n"  # as Flask's jsonify
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body.encode()))}
    response: dict[str, Any] = {"statusCode": 400}
    if event.get("multiValueHeaders"):
        response["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        response["headers"] = headers
    response.update(body=body, isBase64Encoded=False)
    return response


def invoke(version: str, event: dict[str, Any]) -> Any:
    """The answer of ``version``'s function to ``event``, as it gave it; VersionFunctionError if it failed."""
    answer = LAMBDA.invoke(FunctionName=FUNCTIONS[version], InvocationType="RequestResponse", Payload=json.dumps(event).encode())
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):
        raise VersionFunctionError(f"the function of ParallelCluster {version} failed ({answer['FunctionError']}): {_error(payload)}")
    return json.loads(payload)


def _error(payload: bytes) -> str:
    """What a failed function's payload says: Lambda's ``{"errorType", "errorMessage"}``, or its text."""
    try:
        error = json.loads(payload)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (ValueError, TypeError, KeyError):
        return payload.decode("utf-8", "replace")[:1000]
