"""check_build_network: the preflight that fails the stack, naming the setting, when the build cannot work.

VPCs, subnets, route tables, gateways and peering connections are played by moto. moto 5.2.5 has no
VPC Block Public Access nor Allowed AMIs: those two account settings are answered on the same
client by a botocore ``before-call`` handler (the hook botocore's Stubber uses), with responses
botocore validates against the EC2 model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from moto import mock_aws

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    FakeContext,
    ResponseRecorder,
    custom_resource_request,
    load_runtime,
    response_url,  # noqa: F401 - the fixture
)

module = load_runtime("api_image", "check_build_network")

SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ParallelClusterApi-BuildPreflight-7tGh2kLm9QpX"
RECIPE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:container-recipe/parallelclusterapi-3-16-1-1a2b3c4d-8131d980/3.16.1"
SETTINGS = "ImageBuilderVpcId and ImageBuilderSubnetId"


def request(request_type: str, url: str, vpc_id: str | None = None, subnet_id: str | None = None) -> dict[str, Any]:
    network = {key: value for key, value in (("VpcId", vpc_id), ("SubnetId", subnet_id)) if value}
    return custom_resource_request(
        request_type,
        url,
        service_token=SERVICE_TOKEN,
        resource_type="Custom::ImageBuildPreflight",
        logical_id="ApiImageBuildPreflight5C7ED217",
        request_id="6f2d8c1a-0b4e-4a7d-9e35-1c8b2f7a9d40",
        properties={"RecipeArn": RECIPE_ARN, **network},
        physical_id=module.PHYSICAL_ID,
    )


class Account:
    """The Region's EC2 resources (moto) and account settings (answered on the same client)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.settings: dict[str, Any] = {}
        self.answer("DescribeVpcBlockPublicAccessOptions", {"VpcBlockPublicAccessOptions": {
            "AwsAccountId": ACCOUNT, "AwsRegion": REGION, "State": "default-state", "InternetGatewayBlockMode": "off",
            "ManagedBy": "account", "ExclusionsAllowed": "allowed"}})
        self.answer("DescribeVpcBlockPublicAccessExclusions", {"VpcBlockPublicAccessExclusions": []})
        self.answer("GetAllowedImagesSettings", {"State": "disabled", "ManagedBy": "account"})
        client.meta.events.register("before-call.ec2.*", self._before_call)

    def answer(self, operation: str, response: dict[str, Any]) -> None:
        output = self.client.meta.service_model.operation_model(operation).output_shape
        validate_parameters(response, output)
        self.settings[operation] = response

    def deny(self, operation: str, code: str = "UnauthorizedOperation") -> None:
        self.settings[operation] = {"Error": {"Code": code, "Message": "You are not authorized to perform this operation."}}

    def _before_call(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        response = self.settings.get(model.name)
        if response is None:
            return None  # moto answers
        status = 403 if "Error" in response else 200
        return AWSResponse(f"https://ec2.{REGION}.amazonaws.com/", status, {}, None), {
            **response, "ResponseMetadata": {"HTTPStatusCode": status}}

    # -------------------------------------------------------------- networks

    def default_vpc(self) -> str:
        (vpc,) = self.client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        return vpc["VpcId"]

    def default_subnets(self) -> list[str]:
        subnets = self.client.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        return sorted(subnet["SubnetId"] for subnet in subnets)

    def connect_default_vpc(self) -> None:
        """The default VPC as AWS creates it (VPC user guide, "Default VPCs"): an internet gateway,
        and a main route table that sends 0.0.0.0/0 to it. moto creates neither."""
        vpc_id = self.default_vpc()
        gateway = self.internet_gateway(vpc_id)
        self.client.create_route(RouteTableId=self.main_table(vpc_id), DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)

    def delete_default_vpc(self) -> None:
        vpc_id = self.default_vpc()
        for subnet in self.default_subnets():
            self.client.delete_subnet(SubnetId=subnet)
        self.client.delete_vpc(VpcId=vpc_id)

    def vpc(self, cidr: str = "10.0.0.0/16") -> str:
        return self.client.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]

    def subnet(self, vpc_id: str, cidr: str, public_ips: bool = False) -> str:
        subnet_id = self.client.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"]
        if public_ips:
            self.client.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        return subnet_id

    def internet_gateway(self, vpc_id: str) -> str:
        gateway = self.client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.client.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
        return gateway

    def main_table(self, vpc_id: str) -> str:
        (table,) = self.client.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
        return table["RouteTableId"]

    def table(self, vpc_id: str, subnet_id: str, **default_route: str) -> str:
        """A route table associated with ``subnet_id``, with a 0.0.0.0/0 route to ``default_route``."""
        table = self.client.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        self.client.associate_route_table(RouteTableId=table, SubnetId=subnet_id)
        if default_route:
            self.client.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **default_route)
        return table

    def public_subnet(self, vpc_id: str, cidr: str = "10.0.0.0/24", public_ips: bool = True) -> str:
        subnet = self.subnet(vpc_id, cidr, public_ips)
        self.table(vpc_id, subnet, GatewayId=self.internet_gateway(vpc_id))
        return subnet

    def private_subnet_behind_nat(self, vpc_id: str) -> tuple[str, str, str]:
        """A private subnet whose 0.0.0.0/0 goes to a NAT gateway in a public subnet; (private, public, nat)."""
        public = self.public_subnet(vpc_id)
        allocation = self.client.allocate_address(Domain="vpc")["AllocationId"]
        nat = self.client.create_nat_gateway(SubnetId=public, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
        private = self.subnet(vpc_id, "10.0.1.0/24")
        self.table(vpc_id, private, NatGatewayId=nat)
        return private, public, nat

    # -------------------------------------------------------------- account settings

    def block_public_access(self, mode: str, managed_by: str = "account", **exclusions: str) -> None:
        """VPC BPA in ``mode``; ``exclusions`` maps a VPC or subnet id to its exclusion mode."""
        self.answer("DescribeVpcBlockPublicAccessOptions", {"VpcBlockPublicAccessOptions": {
            "AwsAccountId": ACCOUNT, "AwsRegion": REGION, "State": "update-complete", "InternetGatewayBlockMode": mode,
            "ManagedBy": managed_by, "ExclusionsAllowed": "allowed"}})
        self.answer("DescribeVpcBlockPublicAccessExclusions", {"VpcBlockPublicAccessExclusions": [
            exclusion(resource, exclusion_mode) for resource, exclusion_mode in exclusions.items()]})

    def allowed_amis(self, state: str, *criteria: dict[str, Any], managed_by: str = "account") -> None:
        self.answer("GetAllowedImagesSettings", {"State": state, "ImageCriteria": list(criteria), "ManagedBy": managed_by})


def exclusion(resource_id: str, mode: str, state: str = "create-complete") -> dict[str, Any]:
    kind = "vpc" if resource_id.startswith("vpc-") else "subnet"
    return {"ExclusionId": f"vpcbpa-exclude-{resource_id[-8:]}", "InternetGatewayExclusionMode": mode,
            "ResourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:{kind}/{resource_id}", "State": state}


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        monkeypatch.setattr(module, "EC2", client)
        yield Account(client)


def run(url: str, vpc_id: str | None = None, subnet_id: str | None = None, request_type: str = "Create") -> dict[str, Any]:
    return module.handler(request(request_type, url, vpc_id, subnet_id), FakeContext(120_000))


def assert_fails(body: dict[str, Any], *fragments: str) -> None:
    assert body["Status"] == "FAILED", body["Reason"]
    assert body["Reason"].startswith("The image build would fail: ")
    for fragment in fragments:
        assert fragment in body["Reason"]


def assert_passes(body: dict[str, Any], *fragments: str) -> None:
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == module.PHYSICAL_ID
    for fragment in fragments:
        assert fragment in body["Reason"]


# ---------------------------------------------------------------- default VPC


def test_default_vpc_as_aws_creates_it_passes(account: Account, response_url: ResponseRecorder) -> None:
    account.connect_default_vpc()

    body = run(response_url.url)

    assert response_url.body() == body
    assert_passes(body, "VPC Block Public Access is off", "Allowed AMIs is disabled")
    for subnet in account.default_subnets():
        assert f"{subnet} reaches the internet via internet gateway igw-" in body["Reason"]


def test_region_without_default_vpc_names_the_settings(account: Account, response_url: ResponseRecorder) -> None:
    account.delete_default_vpc()

    assert_fails(run(response_url.url), f"{REGION} has no default VPC", SETTINGS, "aws ec2 create-default-vpc")


def test_default_vpc_without_internet_route_fails(account: Account, response_url: ResponseRecorder) -> None:
    """A default VPC whose internet gateway was removed: every default subnet is stuck."""
    first = account.default_subnets()[0]

    assert_fails(run(response_url.url), f"a default subnet of the default VPC {account.default_vpc()}",
                 f"subnet {first} cannot reach the internet", "has no active 0.0.0.0/0 route",
                 "SSM Agent verification failed", SETTINGS)


# ---------------------------------------------------------------- given VPC and subnet


def test_unknown_subnet_fails(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()

    assert_fails(run(response_url.url, vpc, "subnet-0123456789abcdef0"), "ImageBuilderSubnetId subnet-0123456789abcdef0 does not exist")


def test_subnet_of_another_vpc_fails(account: Account, response_url: ResponseRecorder) -> None:
    vpc, other = account.vpc(), account.vpc("10.1.0.0/16")
    subnet = account.public_subnet(other, "10.1.0.0/24")

    assert_fails(run(response_url.url, vpc, subnet), f"{subnet} is in {other}, not in ImageBuilderVpcId {vpc}")


def test_public_subnet_with_public_ips_passes(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    subnet = account.public_subnet(vpc)

    assert_passes(run(response_url.url, vpc, subnet), f"{subnet} reaches the internet via internet gateway igw-")


def test_public_subnet_without_public_ips_fails(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    subnet = account.public_subnet(vpc, public_ips=False)

    assert_fails(run(response_url.url, vpc, subnet), "does not assign public IPv4 addresses on launch",
                 f"aws ec2 modify-subnet-attribute --subnet-id {subnet} --map-public-ip-on-launch")


def test_private_subnet_behind_a_nat_gateway_passes(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    private, public, nat = account.private_subnet_behind_nat(vpc)

    assert_passes(run(response_url.url, vpc, private), f"{private} reaches the internet via NAT gateway {nat} in {public}")


def test_subnet_without_association_uses_the_main_route_table(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    subnet = account.subnet(vpc, "10.0.2.0/24", public_ips=True)
    main = account.main_table(vpc)

    assert_fails(run(response_url.url, vpc, subnet), f"its route table {main} has no active 0.0.0.0/0 route")

    account.client.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=account.internet_gateway(vpc))
    assert_passes(run(response_url.url, vpc, subnet))


def test_explicit_association_wins_over_the_main_table(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    account.client.create_route(RouteTableId=account.main_table(vpc), DestinationCidrBlock="0.0.0.0/0",
                                GatewayId=account.internet_gateway(vpc))
    subnet = account.subnet(vpc, "10.0.3.0/24", public_ips=True)
    table = account.table(vpc, subnet)  # local routes only

    assert_fails(run(response_url.url, vpc, subnet), f"its route table {table} has no active 0.0.0.0/0 route")


def test_route_through_vpc_peering_cannot_reach_the_internet(account: Account, response_url: ResponseRecorder) -> None:
    vpc, egress = account.vpc(), account.vpc("10.1.0.0/16")
    peering = account.client.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=egress)["VpcPeeringConnection"]
    subnet = account.subnet(vpc, "10.0.4.0/24")
    account.table(vpc, subnet, VpcPeeringConnectionId=peering["VpcPeeringConnectionId"])

    assert_fails(run(response_url.url, vpc, subnet), "routes 0.0.0.0/0 only to a VPC peering connection")


def test_route_through_a_transit_gateway_is_reported_not_refused(account: Account, response_url: ResponseRecorder) -> None:
    """A central egress VPC behind a transit gateway may well reach the internet: not refused."""
    vpc = account.vpc()
    gateway = account.client.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    subnet = account.subnet(vpc, "10.0.5.0/24")
    account.table(vpc, subnet, TransitGatewayId=gateway)

    assert_passes(run(response_url.url, vpc, subnet), f"TransitGatewayId {gateway} (not checked further)")


def test_network_not_readable_is_skipped(account: Account, response_url: ResponseRecorder) -> None:
    account.deny("DescribeVpcs")
    account.block_public_access("block-ingress")

    assert_passes(run(response_url.url), "network not checked (UnauthorizedOperation)",
                  "the build's network was not checked against it")


# ---------------------------------------------------------------- VPC Block Public Access


@pytest.mark.parametrize("mode", ["block-bidirectional", "block-ingress"])
def test_block_public_access_stops_a_public_subnet(account: Account, response_url: ResponseRecorder, mode: str) -> None:
    vpc = account.vpc()
    subnet = account.public_subnet(vpc)
    account.block_public_access(mode)

    assert_fails(run(response_url.url, vpc, subnet), f"InternetGatewayBlockMode {mode}", f"no exclusion covers {subnet} or {vpc}")


@pytest.mark.parametrize(("mode", "excluded", "exclusion_mode", "passes"), [
    ("block-bidirectional", "subnet", "allow-egress", True),
    ("block-bidirectional", "vpc", "allow-bidirectional", True),
    ("block-ingress", "subnet", "allow-bidirectional", True),
    # allow-egress only applies in bidirectional mode (EC2 API reference, VpcBlockPublicAccessExclusion).
    ("block-ingress", "subnet", "allow-egress", False),
])
def test_exclusions_lift_block_public_access(
    account: Account, response_url: ResponseRecorder, mode: str, excluded: str, exclusion_mode: str, passes: bool
) -> None:
    vpc = account.vpc()
    subnet = account.public_subnet(vpc)
    account.block_public_access(mode, **{(subnet if excluded == "subnet" else vpc): exclusion_mode})

    body = run(response_url.url, vpc, subnet)

    assert body["Status"] == ("SUCCESS" if passes else "FAILED"), body["Reason"]


def test_exclusion_being_deleted_does_not_count(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    subnet = account.public_subnet(vpc)
    account.block_public_access("block-bidirectional")
    account.answer("DescribeVpcBlockPublicAccessExclusions", {"VpcBlockPublicAccessExclusions": [
        exclusion(subnet, "allow-egress", state="delete-in-progress")]})

    assert_fails(run(response_url.url, vpc, subnet), "no exclusion covers")


def test_nat_gateway_passes_ingress_blocking_but_not_bidirectional(account: Account, response_url: ResponseRecorder) -> None:
    vpc = account.vpc()
    private, public, nat = account.private_subnet_behind_nat(vpc)
    account.block_public_access("block-ingress")
    assert_passes(run(response_url.url, vpc, private), "VPC Block Public Access is block-ingress")

    account.block_public_access("block-bidirectional", managed_by="declarative-policy", **{private: "allow-egress"})
    # The NAT gateway's traffic leaves through the internet gateway from the public subnet.
    assert_fails(run(response_url.url, vpc, private), f"no exclusion covers {public} or {vpc}",
                 "set by your organization's declarative policy", f"NAT gateway {nat}")

    account.block_public_access("block-bidirectional", **{public: "allow-egress"})
    assert_passes(run(response_url.url, vpc, private))


def test_block_public_access_not_readable_is_skipped(account: Account, response_url: ResponseRecorder) -> None:
    account.connect_default_vpc()
    account.deny("DescribeVpcBlockPublicAccessOptions")

    assert_passes(run(response_url.url), "VPC Block Public Access not checked (UnauthorizedOperation)")


# ---------------------------------------------------------------- Allowed AMIs


@pytest.mark.parametrize(("state", "criteria", "passes"), [
    ("enabled", [{"ImageProviders": ["amazon"]}], True),
    ("enabled", [{"ImageProviders": [ACCOUNT]}, {"ImageProviders": ["aws-marketplace", "amazon"]}], True),
    ("enabled", [{"ImageNames": ["golden-*"]}], True),  # not restricted by provider
    ("audit-mode", [{"ImageProviders": [ACCOUNT]}], True),
    ("enabled", [{"ImageProviders": [ACCOUNT, "aws-marketplace"]}], False),
    ("enabled", [{"ImageProviders": ["none"]}], False),
])
def test_allowed_amis_must_allow_amazons_ecs_optimized_ami(
    account: Account, response_url: ResponseRecorder, state: str, criteria: list[dict[str, Any]], passes: bool
) -> None:
    account.connect_default_vpc()
    account.allowed_amis(state, *criteria)

    body = run(response_url.url)

    if passes:
        assert_passes(body, f"Allowed AMIs is {state}")
    else:
        assert_fails(body, "EC2 Allowed AMIs is enabled", "Add 'amazon' to the allowed image providers")


def test_allowed_amis_set_by_the_organization_says_so(account: Account, response_url: ResponseRecorder) -> None:
    account.connect_default_vpc()
    account.allowed_amis("enabled", {"ImageProviders": [ACCOUNT]}, managed_by="declarative-policy")

    assert_fails(run(response_url.url), "by your organization's declarative policy")


def test_allowed_amis_not_available_is_skipped(account: Account, response_url: ResponseRecorder) -> None:
    account.connect_default_vpc()
    account.deny("GetAllowedImagesSettings", code="InvalidAction")

    assert_passes(run(response_url.url), "Allowed AMIs not checked (InvalidAction)")


# ---------------------------------------------------------------- the protocol


def test_update_checks_again(account: Account, response_url: ResponseRecorder) -> None:
    account.delete_default_vpc()

    assert_fails(run(response_url.url, request_type="Update"), "has no default VPC")


def test_delete_does_nothing(account: Account, response_url: ResponseRecorder) -> None:
    account.delete_default_vpc()

    assert_passes(run(response_url.url, request_type="Delete"), "Nothing to delete")


def test_vpc_without_subnet_is_refused(account: Account, response_url: ResponseRecorder) -> None:
    body = run(response_url.url, vpc_id="vpc-0123456789abcdef0")

    assert body["Status"] == "FAILED" and "VpcId and SubnetId go together" in body["Reason"]
