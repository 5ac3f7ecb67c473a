"""Where the signed requests go: the stack's invoke URL, checked before anything is signed for it.

The ``ParallelClusterApiInvokeUrl`` output is taken only if it is one of the two forms the stack
produces, so that an output changed by someone else cannot make the command send signed requests
(and request bodies) to a host of their choosing:

* an API Gateway endpoint in the stack's Region, ``https://<api id>.execute-api.<region>.<dns
  suffix>/<stage>``, or the private form ``https://<api id>-<vpce id>.execute-api...`` (the DNS
  suffix of the Region's partition: ``amazonaws.com``, ``amazonaws.com.cn``...);
* ``https://<domain>`` where ``<domain>`` is the custom domain of the stack itself: the physical
  id of an ``AWS::ApiGateway::DomainName`` resource of the stack or of one of its nested stacks
  (CloudFormation ListStackResources). API Gateway creates such a domain only with an ACM
  certificate for it, so the stack's resources, not its outputs, vouch for the name.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import botocore.loaders
import botocore.regions

# The host names API Gateway gives REST APIs: <api id>, or <api id>-<vpce id> for a private API
# reached through an interface VPC endpoint.
EXECUTE_API_HOST = re.compile(
    r"(?P<api>[a-z0-9]+)(?:-vpce-[0-9a-f]+)?\.execute-api\.(?P<region>[a-z0-9-]+)\.(?P<suffix>[a-z0-9.-]+)"
)
# A stage name: letters, digits, hyphens and underscores, at most 128 characters (API Gateway).
STAGE_PATH = re.compile(r"/[A-Za-z0-9_-]{1,128}")
DOMAIN_NAME_TYPE = "AWS::ApiGateway::DomainName"
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"


def check_base_url(url: str, *, allow_loopback_http: bool) -> str:
    """``url`` without trailing slash if it is an https base URL (no query, fragment or user info).

    Plain http is accepted only when ``allow_loopback_http`` is set and the host is a loopback
    IP address (a local test server). Raises ValueError otherwise.
    """
    parts = urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"not a base URL: {url!r}")
    if parts.scheme == "https":
        return url.rstrip("/")
    if allow_loopback_http and parts.scheme == "http" and _is_loopback_ip(parts.hostname):
        return url.rstrip("/")
    raise ValueError(f"refusing {url!r}: the API must be called over https")


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dns_suffix(region: str) -> str:
    """DNS suffix of the partition of ``region`` (what ``AWS::URLSuffix`` is there), from botocore's endpoint data."""
    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    suffix = resolver.get_partition_dns_suffix(resolver.get_partition_for_region(region))
    return str(suffix)


def check_invoke_url(url: str, *, region: str, stack_domains: Callable[[], set[str]]) -> str:
    """``url`` without trailing slash if it is an endpoint of the stack's API (see the module docstring).

    ``stack_domains`` returns the custom domain names of the stack; it is called only for a URL
    that is not an execute-api endpoint. Raises ValueError, naming the expected forms, otherwise.
    """
    base = check_base_url(url, allow_loopback_http=False)
    parts = urlsplit(base)
    host = parts.hostname or ""
    suffix = dns_suffix(region)
    expected = (
        f"expected https://<api id>.execute-api.{region}.{suffix}/<stage> (or its private form) "
        "or https://<custom domain of the stack>"
    )
    if parts.port is not None:
        raise ValueError(f"refusing {url!r}: {expected}")
    execute_api = EXECUTE_API_HOST.fullmatch(host)
    if execute_api is not None:
        if (execute_api["region"], execute_api["suffix"]) == (region, suffix) and STAGE_PATH.fullmatch(parts.path):
            return base
        raise ValueError(f"refusing {url!r}: {expected}")
    if parts.path == "" and host in stack_domains():
        return base
    raise ValueError(f"refusing {url!r}: {expected}")


def custom_domains(cloudformation: Any, stack_id: str) -> set[str]:
    """Domain names of the ``AWS::ApiGateway::DomainName`` resources of a stack and its nested stacks.

    ``cloudformation``: a boto3 client; ``stack_id``: the stack's name or id. The physical id
    of such a resource is its domain name (the type's primary identifier).
    """
    return {
        resource["PhysicalResourceId"].rstrip(".").lower()
        for resource in _resources(cloudformation, stack_id, seen=set())
        if resource["ResourceType"] == DOMAIN_NAME_TYPE and resource.get("PhysicalResourceId")
    }


def _resources(cloudformation: Any, stack_id: str, *, seen: set[str]) -> Iterator[Mapping[str, Any]]:
    seen.add(stack_id)
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceStatus"].startswith("DELETE"):
                continue
            yield resource
            nested = resource.get("PhysicalResourceId")
            if resource["ResourceType"] == NESTED_STACK_TYPE and nested and nested not in seen:
                yield from _resources(cloudformation, nested, seen=seen)
