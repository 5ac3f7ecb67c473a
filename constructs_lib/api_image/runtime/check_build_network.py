"""CloudFormation custom resource that fails fast, with one clear reason, when the image build cannot work.

The first image build runs during stack creation and takes 15 to 30 minutes; when the build
instance cannot reach the internet it fails only after Systems Manager gives up ("SSM Agent
verification failed"), and the stack event shows Image Builder's message, not the setting to change.
This resource runs before the build and checks what is cheap to check and documented:

* Network. Without ``VpcId``/``SubnetId``, Image Builder uses the default VPC and one of its
  default subnets (Image Builder user guide, "Create an infrastructure configuration"): the Region
  must have a default VPC, and each default subnet must reach the internet. With them, the subnet
  must exist and belong to the VPC. A subnet reaches the internet when its route table (its own
  association, else the VPC's main table: VPC user guide, "Route tables") has an active
  ``0.0.0.0/0`` route to an internet gateway with public IPv4 addresses assigned on launch (an
  instance needs a public address to use an internet gateway), or to an available NAT gateway.
  A route through a VPC peering connection never reaches the internet (peering does not support
  edge-to-edge routing). Routes to transit gateways, network interfaces, instances, gateway or
  firewall endpoints and virtual private gateways may: they are reported, not refused.
* VPC Block Public Access (EC2 API reference, ``BlockPublicAccessStates``): ``block-bidirectional``
  blocks internet gateway traffic, NAT gateways' included; ``block-ingress`` lets only NAT gateway
  and egress-only traffic out. An exclusion of the subnet or VPC in state ``create-complete`` or
  ``update-complete`` lifts it (``allow-egress`` only in ``block-bidirectional`` mode).
* EC2 Allowed AMIs (``GetAllowedImagesSettings``): when ``enabled``, an instance can only start
  from an AMI the criteria allow; Image Builder starts a container build instance from the Amazon
  ECS-optimized AMI (CloudFormation reference, ContainerRecipe ``InstanceConfiguration``), whose
  provider is ``amazon``.

A check whose API is denied or unavailable, or that the time left cannot fit (each EC2 call is made
only while the longest it can take still leaves the time to reply: ``time_budget``), is skipped and
named in ``Reason``: this resource only refuses what it knows cannot work. Properties: ``VpcId`` and ``SubnetId`` (both or neither),
``RecipeArn`` (only so that each new recipe, hence each new first build, is checked again).

* Create / Update: the checks; FAILED with the reason and the setting to change.
* Delete: nothing to do, SUCCESS.

Physical id: ``image-build-preflight``, the only one this resource ever had: Create returns it,
Update and Delete echo it. The request's dispatch and its reply: ``custom_resource``.
"""

from __future__ import annotations

import logging
import os
from typing import Any, NamedTuple

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from cfn_response import FAILED, REPLY_MS
from custom_resource import Outcome, Request, serve
from time_budget import OutOfTime, check_time, client_config

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

# Created once per execution environment; tests stub it.
EC2 = boto3.client("ec2", config=client_config())

PHYSICAL_ID = "image-build-preflight"
SETTINGS = (
    "ImageBuilderVpcId and ImageBuilderSubnetId (construct: FunctionCode.build_in_account(network=BuildNetwork(...)))"
)
# Exclusion states in which VPC Block Public Access exempts the resource.
EFFECTIVE_EXCLUSION = {"create-complete", "update-complete"}
# The route targets that may lead to the internet without this function being able to tell.
UNVERIFIED_TARGETS = ("TransitGatewayId", "NetworkInterfaceId", "InstanceId", "CoreNetworkArn", "GatewayId")


class BuildWouldFail(Exception):
    """The image build cannot work with the account's settings: the message says what to change."""


class InternetPath(NamedTuple):
    """How a subnet reaches the internet: through which gateway, in which subnet and VPC."""

    subnet_id: str
    vpc_id: str
    kind: str  # "internet-gateway", "nat-gateway" or "other"
    text: str
    gateway_subnet_id: str  # where VPC Block Public Access applies: the subnet, or the NAT gateway's


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handle one custom resource request and PUT the response; returns the response body."""
    return serve(event, context, create_or_update=_check, delete=_delete, default_id=PHYSICAL_ID)


def _network(properties: dict[str, Any]) -> tuple[str | None, str | None]:
    """The ``VpcId`` and ``SubnetId`` properties (both or neither): the build's network, None for the default VPC."""
    vpc_id, subnet_id = properties.get("VpcId") or None, properties.get("SubnetId") or None
    if (vpc_id is None) != (subnet_id is None):
        raise ValueError(f"VpcId and SubnetId go together, got {vpc_id!r} and {subnet_id!r}")
    return vpc_id, subnet_id


def _check(request: Request) -> Outcome:
    """Create / Update: the checks."""
    vpc_id, subnet_id = _network(request.properties)
    try:
        notes = _preflight(vpc_id, subnet_id, request.context)
    except BuildWouldFail as problem:
        LOGGER.error("The image build would fail: %s", problem)
        return Outcome(f"The image build would fail: {problem} (README: Troubleshooting the image build)", status=FAILED)
    return Outcome("The image build can start: " + "; ".join(notes))


def _delete(request: Request) -> str:
    return "Nothing to delete"


def _preflight(vpc_id: str | None, subnet_id: str | None, context: Any) -> list[str]:
    """Raise BuildWouldFail on the first certain problem; return what was found (or skipped)."""
    region = os.environ["AWS_REGION"]
    notes: list[str] = []
    try:
        subnets = _build_subnets(vpc_id, subnet_id, region, context)
        try:
            paths = [_internet_path(subnet, context) for subnet in subnets]
        except BuildWouldFail as problem:
            if subnet_id is not None:
                raise
            default_vpc = subnets[0]["VpcId"]
            raise BuildWouldFail(
                f"with no subnet given, Image Builder launches the build in a default subnet of the default VPC "
                f"{default_vpc}, and {problem}"
            ) from problem
        notes += [f"{path.subnet_id} reaches the internet via {path.text}" for path in paths]
    except (ClientError, BotoCoreError, OutOfTime) as error:
        notes.append(f"network not checked ({_describe_error(error)})")
        paths = []
    notes.append(_check_block_public_access(paths, region, context))
    notes.append(_check_allowed_amis(region, context))
    return notes


def _ec2(context: Any) -> Any:
    """The EC2 client, once the time left allows one more call and the reply."""
    check_time(context, REPLY_MS)
    return EC2


def _build_subnets(vpc_id: str | None, subnet_id: str | None, region: str, context: Any) -> list[dict[str, Any]]:
    """The subnets the build instance may be launched in."""
    if subnet_id is None:
        vpcs = _ec2(context).describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise BuildWouldFail(
                f"{region} has no default VPC, which Image Builder uses when no subnet is given. Set {SETTINGS} "
                "to a VPC and a subnet with internet access, or create a default VPC (aws ec2 create-default-vpc)."
            )
        vpc_id = vpcs[0]["VpcId"]
        subnets = _ec2(context).describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default-for-az", "Values": ["true"]}]
        )["Subnets"]
        if not subnets:
            raise BuildWouldFail(f"the default VPC {vpc_id} of {region} has no default subnet. Set {SETTINGS}.")
        return sorted(subnets, key=lambda subnet: subnet["SubnetId"])
    try:
        (subnet,) = _ec2(context).describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    except ClientError as error:
        if _code(error) in ("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"):
            raise BuildWouldFail(f"ImageBuilderSubnetId {subnet_id} does not exist in {region}.") from error
        raise
    if subnet["VpcId"] != vpc_id:
        raise BuildWouldFail(
            f"ImageBuilderSubnetId {subnet_id} is in {subnet['VpcId']}, not in ImageBuilderVpcId {vpc_id}: "
            "give the subnet's VPC."
        )
    return [subnet]


def _internet_path(subnet: dict[str, Any], context: Any) -> InternetPath:
    """How ``subnet`` reaches the internet, or BuildWouldFail."""
    subnet_id, vpc_id = subnet["SubnetId"], subnet["VpcId"]
    tables = _ec2(context).describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["RouteTables"]
    if not tables:  # no explicit association: the VPC's main route table
        tables = _ec2(context).describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
    table_id = tables[0]["RouteTableId"] if tables else "(none)"
    # A subnet is associated with one route table.
    defaults = [
        route for route in (tables[0].get("Routes", []) if tables else [])
        if route.get("DestinationCidrBlock") == "0.0.0.0/0" and route.get("State") == "active"
    ]
    route = defaults[0] if defaults else {}
    if not route or route.get("VpcPeeringConnectionId"):
        # VPC user guide, "VPC peering limitations": no edge-to-edge routing through a peer's gateways.
        found = "routes 0.0.0.0/0 only to a VPC peering connection" if route else "has no active 0.0.0.0/0 route"
        raise BuildWouldFail(
            f"subnet {subnet_id} cannot reach the internet: its route table {table_id} {found}. The build pulls "
            "the base image and packages and talks to Systems Manager over the internet (without it, Image Builder "
            "fails with 'SSM Agent verification failed'). Route 0.0.0.0/0 to a NAT gateway (or to an internet "
            f"gateway, with public IPv4 addresses on launch), or set {SETTINGS} to a subnet that has such a route."
        )
    gateway = route.get("GatewayId", "")
    if gateway.startswith("igw-"):
        if not subnet.get("MapPublicIpOnLaunch"):
            raise BuildWouldFail(
                f"subnet {subnet_id} routes to the internet gateway {gateway} but does not assign public IPv4 "
                "addresses on launch, so the build instance cannot use it. Turn on auto-assign public IPv4 for "
                f"the subnet (aws ec2 modify-subnet-attribute --subnet-id {subnet_id} --map-public-ip-on-launch), "
                f"or set {SETTINGS} to a private subnet with a NAT gateway."
            )
        return InternetPath(subnet_id, vpc_id, "internet-gateway", f"internet gateway {gateway}", subnet_id)
    if route.get("NatGatewayId"):
        (nat,) = _ec2(context).describe_nat_gateways(NatGatewayIds=[route["NatGatewayId"]])["NatGateways"]
        if nat.get("State") != "available":
            raise BuildWouldFail(
                f"subnet {subnet_id} routes to the internet through NAT gateway {nat['NatGatewayId']}, which is "
                f"{nat.get('State')}. Use an available NAT gateway, or set {SETTINGS} to another subnet."
            )
        if nat.get("ConnectivityType") == "private":
            text = f"private NAT gateway {nat['NatGatewayId']} (its onward route is not checked)"
            return InternetPath(subnet_id, vpc_id, "other", text, nat["SubnetId"])
        text = f"NAT gateway {nat['NatGatewayId']} in {nat['SubnetId']}"
        return InternetPath(subnet_id, vpc_id, "nat-gateway", text, nat["SubnetId"])
    target = next((f"{key} {route[key]}" for key in UNVERIFIED_TARGETS if route.get(key)), "another target")
    return InternetPath(subnet_id, vpc_id, "other", f"{target} (not checked further)", subnet_id)


def _check_block_public_access(paths: list[InternetPath], region: str, context: Any) -> str:
    try:
        options = _ec2(context).describe_vpc_block_public_access_options()["VpcBlockPublicAccessOptions"]
    except (ClientError, BotoCoreError, OutOfTime) as error:
        return f"VPC Block Public Access not checked ({_describe_error(error)})"
    mode = options.get("InternetGatewayBlockMode", "off")
    if mode == "off":
        return "VPC Block Public Access is off"
    try:
        exclusions = _exclusions(context)
    except (ClientError, BotoCoreError, OutOfTime) as error:
        return f"VPC Block Public Access is {mode}; exclusions not checked ({_describe_error(error)})"
    lifting = {"allow-bidirectional"} | ({"allow-egress"} if mode == "block-bidirectional" else set())
    covered = {resource for resource, exclusion_mode in exclusions.items() if exclusion_mode in lifting}
    owner = " (set by your organization's declarative policy)" if options.get("ManagedBy") == "declarative-policy" else ""
    for path in paths:
        # block-ingress lets only NAT gateway and egress-only traffic out; block-bidirectional, none.
        blocked = path.kind == "internet-gateway" or (path.kind == "nat-gateway" and mode == "block-bidirectional")
        if blocked and not {f"subnet/{path.gateway_subnet_id}", f"vpc/{path.vpc_id}"} & covered:
            raise BuildWouldFail(
                f"VPC Block Public Access is on in {region} (InternetGatewayBlockMode {mode}){owner} and no "
                f"exclusion covers {path.gateway_subnet_id} or {path.vpc_id}, so the build instance in "
                f"{path.subnet_id} cannot reach the internet through the {path.text}. Add an exclusion for that "
                f"subnet or VPC ({'allow-egress or ' if mode == 'block-bidirectional' else ''}allow-bidirectional), "
                f"or set {SETTINGS} to a subnet that reaches the internet another way."
            )
    if not paths:
        return f"VPC Block Public Access is {mode}; the build's network was not checked against it"
    return f"VPC Block Public Access is {mode}; the build's way out is excluded or not blocked"


def _exclusions(context: Any) -> dict[str, str]:
    """Effective exclusions: ``vpc/<id>`` or ``subnet/<id>`` to their mode."""
    found: dict[str, str] = {}
    request: dict[str, Any] = {"MaxResults": 1000}
    while True:
        page = _ec2(context).describe_vpc_block_public_access_exclusions(**request)
        for exclusion in page.get("VpcBlockPublicAccessExclusions", []):
            if exclusion.get("State") in EFFECTIVE_EXCLUSION:
                resource = exclusion.get("ResourceArn", "").rsplit(":", 1)[-1]
                found[resource] = exclusion.get("InternetGatewayExclusionMode", "")
        if not page.get("NextToken"):
            return found
        request["NextToken"] = page["NextToken"]


def _check_allowed_amis(region: str, context: Any) -> str:
    try:
        settings = _ec2(context).get_allowed_images_settings()
    except (ClientError, BotoCoreError, OutOfTime) as error:
        return f"Allowed AMIs not checked ({_describe_error(error)})"
    state = settings.get("State", "disabled")
    if state != "enabled":
        return f"Allowed AMIs is {state}"
    # Criteria are alternatives; a criterion without providers does not restrict by provider.
    criteria = settings.get("ImageCriteria") or []
    if any(not c.get("ImageProviders") or "amazon" in c["ImageProviders"] for c in criteria):
        return "Allowed AMIs is enabled and allows Amazon's AMIs"
    owner = " by your organization's declarative policy" if settings.get("ManagedBy") == "declarative-policy" else ""
    raise BuildWouldFail(
        f"EC2 Allowed AMIs is enabled in {region}{owner} and allows no AMI provided by Amazon (image provider "
        "'amazon'), but Image Builder starts the container build instance from the Amazon ECS-optimized AMI. "
        "Add 'amazon' to the allowed image providers."
    )


def _describe_error(error: Exception) -> str:
    return _code(error) if isinstance(error, ClientError) else type(error).__name__


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))
