"""examples/platform_app.py: a network stack's constructs flow into two APIs, each in a NestedStack of the platform."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cfnlint.api
import pytest

from constructs_lib import audit
from stacks import outputs
from tests.conftest import ACCOUNT, ROOT, TEST_REGION, cdk_json_context, render

pytestmark = pytest.mark.xdist_group("examples")

EXAMPLE = ROOT / "examples" / "platform_app.py"
# W3005 (a DependsOn that a reference already implies) comes from CDK's own L2 constructs.
ACCEPTED_RULES = {"W3005"}
TEMPLATES = ("network", "platform", "internal", "user")


@dataclass
class Synthesized:
    example: Any  # the example module
    network_stack: Any  # HpcNetworkStack
    platform_stack: Any  # HpcPlatformStack
    templates: dict[str, dict[str, Any]]  # by name in TEMPLATES
    outdir: Path

    @property
    def network(self) -> dict[str, Any]:
        return self.templates["network"]

    @property
    def platform(self) -> dict[str, Any]:
        return self.templates["platform"]

    @property
    def internal(self) -> dict[str, Any]:
        return self.templates["internal"]

    @property
    def user(self) -> dict[str, Any]:
        return self.templates["user"]

    def logical_id(self, construct: Any) -> str:
        """The logical id of an L1 resource, or of an L2 construct's resource, in its own stack's template."""
        resource = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
        # The element's own id: the one a construct may have overridden (AWS's template's ids).
        return cdk.Stack.of(resource).resolve(resource.logical_id)

    def ref(self, construct: Any) -> dict[str, str]:
        return {"Ref": self.logical_id(construct)}

    def resources(self, template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
        return [r for r in template["Resources"].values() if r["Type"] == resource_type]

    def only(self, template: dict[str, Any], resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(template, resource_type)
        return resource

    def from_network(self, value: Any) -> Any:
        """``value`` with each ``Fn::GetStackOutput`` of the network stack replaced by what it reads there."""
        if isinstance(value, list):
            return [self.from_network(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::GetStackOutput"}:
            reference = value["Fn::GetStackOutput"]
            assert reference["StackName"] == self.network_stack.stack_name
            assert reference["Region"] == TEST_REGION
            return self.network["Outputs"][reference["OutputName"]]["Value"]
        return {key: self.from_network(item) for key, item in value.items()}

    def from_platform(self, nested: str, value: Any) -> Any:
        """What a parameter of a nested template is set to by the platform stack (else ``value``)."""
        nested_stack = getattr(self.platform_stack, f"{nested}_api").node.scope
        resource = self.platform["Resources"][self.logical_id(nested_stack.nested_stack_resource)]
        parameters = resource["Properties"]["Parameters"]
        if isinstance(value, dict) and value.get("Ref") in parameters:
            return parameters[value["Ref"]]
        return value

    def nested_output(self, reference: dict[str, Any]) -> tuple[str, Any]:
        """The nested template and value that the platform's ``GetAtt <nested stack>.Outputs.X`` reads."""
        stack_id, attribute = reference["Fn::GetAtt"]
        for nested in ("internal", "user"):
            nested_stack = getattr(self.platform_stack, f"{nested}_api").node.scope
            if self.logical_id(nested_stack.nested_stack_resource) == stack_id:
                return nested, self.templates[nested]["Outputs"][attribute.removeprefix("Outputs.")]["Value"]
        raise AssertionError(f"{stack_id} is not a nested stack of the platform")


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    """The example's stacks, as `cdk synth --app ...` makes them from the repository root (cdk.json)."""
    spec = importlib.util.spec_from_file_location("examples_platform_app", EXAMPLE)
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    outdir = Path(tempfile.mkdtemp(prefix="cdk-example-"))
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    network, platform = example.build(app)
    app.synth()
    stacks = {
        "network": network,
        "platform": platform,
        "internal": cdk.Stack.of(platform.internal_api),
        "user": cdk.Stack.of(platform.user_api),
    }
    templates = {name: json.loads((outdir / stack.template_file).read_text()) for name, stack in stacks.items()}
    return Synthesized(example, network, platform, templates, outdir)


def test_each_api_lives_in_its_own_nested_stack_of_the_platform(synthesized):
    platform = synthesized.platform_stack
    for api, template in ((platform.internal_api, synthesized.internal), (platform.user_api, synthesized.user)):
        assert cdk.Stack.of(api).nested_stack_parent is platform
        assert template["Resources"]["ParallelClusterFunction"]["Type"] == "AWS::Lambda::Function"
        assert template["Resources"]["APIGatewayExecutionRole"]["Type"] == "AWS::IAM::Role"
    assert "ParallelClusterFunction" not in synthesized.platform["Resources"]
    # The network stack is deployed first: the platform reads its outputs.
    assert synthesized.network_stack in platform.dependencies


def test_the_network_needs_no_nat_gateway_and_logs_its_flows(synthesized):
    network = synthesized.network
    assert synthesized.resources(network, "AWS::EC2::NatGateway") == []
    vpc = synthesized.network_stack.vpc
    # Isolated subnets have no route out at all; public ones go out through the internet gateway.
    routes = synthesized.resources(network, "AWS::EC2::Route")
    for subnet in vpc.isolated_subnets:
        table = synthesized.network_stack.resolve(subnet.route_table.route_table_id)
        assert [r for r in routes if r["Properties"]["RouteTableId"] == table] == []
    (flow_log,) = synthesized.resources(network, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["ResourceId"] == synthesized.ref(vpc)
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    log_group = network["Resources"][flow_log["Properties"]["LogGroupName"]["Ref"]]
    assert "KmsKeyId" in log_group["Properties"] and "RetentionInDays" in log_group["Properties"]


def test_the_private_api_answers_only_through_the_network_endpoint(synthesized):
    endpoint = synthesized.network_stack.api_endpoint
    endpoint_ref = synthesized.ref(endpoint)
    endpoint_resource = synthesized.network["Resources"][endpoint_ref["Ref"]]["Properties"]
    assert endpoint_resource["ServiceName"] == f"com.amazonaws.{TEST_REGION}.execute-api"
    assert endpoint_resource["VpcEndpointType"] == "Interface"

    rest_api = synthesized.only(synthesized.internal, "AWS::ApiGateway::RestApi")["Properties"]
    assert rest_api["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    assert synthesized.from_network(rest_api["EndpointConfiguration"]["VpcEndpointIds"]) == [endpoint_ref]
    statements = synthesized.from_network(rest_api["Policy"]["Statement"])
    allow_endpoint = {"StringEquals": {"aws:SourceVpce": endpoint_ref}}
    deny_others = {"StringNotEquals": {"aws:SourceVpce": endpoint_ref}}
    assert [s["Effect"] for s in statements if s.get("Condition") == allow_endpoint] == ["Allow"]
    assert [s["Effect"] for s in statements if s.get("Condition") == deny_others] == ["Deny"]
    # The invoke URL is the endpoint-specific name of the API, which needs no private DNS.
    url = render(synthesized.from_network(synthesized.internal["Outputs"][outputs.INVOKE_URL]["Value"]))
    api_id = synthesized.logical_id(synthesized.platform_stack.internal_api.rest_api)
    assert url == f"https://<{api_id}>-<{endpoint_ref['Ref']}>.execute-api.{TEST_REGION}.amazonaws.com/prod"


def test_the_user_api_answers_on_the_custom_domain_of_the_network_zone(synthesized):
    network = synthesized.network_stack
    example = synthesized.example
    domain = synthesized.only(synthesized.user, "AWS::ApiGateway::DomainName")["Properties"]
    assert domain["DomainName"] == example.API_DOMAIN_NAME
    assert domain["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    assert synthesized.from_network(domain["RegionalCertificateArn"]) == synthesized.ref(network.certificate)
    records = synthesized.only(synthesized.user, "AWS::Route53::RecordSetGroup")["Properties"]
    assert synthesized.from_network(records["HostedZoneId"]) == synthesized.ref(network.zone)
    (record,) = records["RecordSets"]
    assert (record["Name"], record["Type"]) == (example.API_DOMAIN_NAME, "A")
    domain_id = synthesized.logical_id(synthesized.platform_stack.user_api.domain)
    assert record["AliasTarget"]["DNSName"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
    # The certificate names the API's domain and is validated in the same zone.
    certificate = synthesized.network["Resources"][synthesized.logical_id(network.certificate)]["Properties"]
    assert certificate["ValidationMethod"] == "DNS"
    assert certificate["DomainValidationOptions"] == [
        {"DomainName": example.API_DOMAIN_NAME, "HostedZoneId": synthesized.ref(network.zone)}
    ]
    zone = synthesized.network["Resources"][synthesized.logical_id(network.zone)]["Properties"]
    assert example.API_DOMAIN_NAME.endswith("." + zone["Name"].rstrip("."))
    rest_api = synthesized.only(synthesized.user, "AWS::ApiGateway::RestApi")["Properties"]
    assert rest_api["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    mapping = synthesized.only(synthesized.user, "AWS::ApiGateway::BasePathMapping")["Properties"]
    assert mapping["DomainName"] == {"Ref": domain_id}
    assert mapping["RestApiId"] == synthesized.ref(synthesized.platform_stack.user_api.rest_api)


def test_the_user_api_image_is_built_in_the_public_build_subnet(synthesized):
    network = synthesized.network_stack
    subnet_ref = synthesized.ref(network.build_subnet)
    vpc_ref = synthesized.ref(network.vpc)
    user = synthesized.user
    infrastructure = synthesized.only(user, "AWS::ImageBuilder::InfrastructureConfiguration")["Properties"]
    assert synthesized.from_network(infrastructure["SubnetId"]) == subnet_ref
    (security_group_id,) = infrastructure["SecurityGroupIds"]
    security_group = user["Resources"][security_group_id["Fn::GetAtt"][0]]["Properties"]
    assert synthesized.from_network(security_group["VpcId"]) == vpc_ref
    preflight = synthesized.only(user, "Custom::ImageBuildPreflight")["Properties"]
    assert synthesized.from_network({k: preflight[k] for k in ("VpcId", "SubnetId")}) == {
        "VpcId": vpc_ref,
        "SubnetId": subnet_ref,
    }
    # What the preflight asks of a subnet without NAT: public IPs on launch and a default route
    # to an internet gateway.
    resources = synthesized.network["Resources"]
    assert resources[subnet_ref["Ref"]]["Properties"]["MapPublicIpOnLaunch"] is True
    table = network.resolve(network.build_subnet.route_table.route_table_id)
    (default_route,) = [
        r["Properties"]
        for r in synthesized.resources(synthesized.network, "AWS::EC2::Route")
        if r["Properties"]["RouteTableId"] == table
    ]
    assert default_route["DestinationCidrBlock"] == "0.0.0.0/0"
    assert resources[default_route["GatewayId"]["Ref"]]["Type"] == "AWS::EC2::InternetGateway"
    # The internal API runs the official layer: nothing to build.
    assert synthesized.resources(synthesized.internal, "AWS::ImageBuilder::InfrastructureConfiguration") == []


def ci_policy_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    ci_role_id = synthesized.logical_id(synthesized.platform_stack.ci_role)
    return [
        statement
        for resource in synthesized.resources(synthesized.platform, "AWS::IAM::ManagedPolicy")
        if {"Ref": ci_role_id} in resource["Properties"].get("Roles", [])
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_ci_role_may_invoke_the_internal_api_only(synthesized):
    ci_role_id = synthesized.logical_id(synthesized.platform_stack.ci_role)
    trust = synthesized.platform["Resources"][ci_role_id]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    (invoke,) = [s for s in ci_policy_statements(synthesized) if s["Action"] == "execute-api:Invoke"]
    assert invoke["Effect"] == "Allow"
    (reference,) = [p for p in invoke["Resource"]["Fn::Join"][1] if isinstance(p, dict) and "Fn::GetAtt" in p]
    rest_api_id = synthesized.logical_id(synthesized.platform_stack.internal_api.rest_api)
    assert synthesized.nested_output(reference) == ("internal", {"Ref": rest_api_id})
    assert render(invoke["Resource"]).startswith(f"arn:aws:execute-api:{TEST_REGION}:{ACCOUNT}:<")
    assert render(invoke["Resource"]).endswith(">/*/*/*")


def test_the_internal_api_resource_policy_admits_the_ci_role_and_its_user_role_only(synthesized):
    policy = synthesized.only(synthesized.internal, "AWS::ApiGateway::RestApi")["Properties"]["Policy"]
    (deny,) = [s for s in policy["Statement"] if "ArnNotLike" in s.get("Condition", {})]
    assert deny["Effect"] == "Deny"
    admitted = [
        synthesized.from_platform("internal", item) for item in deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    ]
    ci_role_arn = {"Fn::GetAtt": [synthesized.logical_id(synthesized.platform_stack.ci_role), "Arn"]}
    assert ci_role_arn in admitted
    (user_role,) = [item for item in admitted if item != ci_role_arn]
    assert ":role/hpc-ci-PCAPIUserRole-" in render(user_role)
    # The user-facing API's resource policy knows nothing of the CI.
    user_policy = synthesized.only(synthesized.user, "AWS::ApiGateway::RestApi")["Properties"]["Policy"]
    assert "CiRole" not in json.dumps(synthesized.from_platform("user", user_policy))
    assert "referencetoHpcPlatformCiRole" not in json.dumps(synthesized.user["Parameters"])


def test_both_apis_take_the_platform_boundary_and_logs_key(synthesized):
    platform = synthesized.platform_stack
    boundary = synthesized.ref(platform.boundary)
    logs_key_arn = {"Fn::GetAtt": [synthesized.logical_id(platform.logs_key), "Arn"]}
    for nested in ("internal", "user"):
        template = synthesized.templates[nested]
        roles = synthesized.resources(template, "AWS::IAM::Role")
        boundaries = [synthesized.from_platform(nested, r["Properties"].get("PermissionsBoundary")) for r in roles]
        assert roles and boundaries == [boundary] * len(roles)
        log_groups = synthesized.resources(template, "AWS::Logs::LogGroup")
        keys = [synthesized.from_platform(nested, g["Properties"].get("KmsKeyId")) for g in log_groups]
        assert log_groups and keys == [logs_key_arn] * len(log_groups)


def test_pcluster_api_finds_each_api_under_the_official_output_names(synthesized):
    platform_outputs = synthesized.platform["Outputs"]
    # Users: `pcluster-api --stack-name HpcPlatform`, on the custom domain with the user API's role.
    assert platform_outputs[outputs.INVOKE_URL]["Value"] == f"https://{synthesized.example.API_DOMAIN_NAME}"
    user_role_id = synthesized.logical_id(synthesized.platform_stack.user_api.api_user_role)
    assert synthesized.nested_output(platform_outputs[outputs.USER_ROLE]["Value"]) == (
        "user",
        {"Fn::GetAtt": [user_role_id, "Arn"]},
    )
    # The CI: `pcluster-api --stack-name <InternalApiStack>`, whose outputs have the official names.
    internal_stack = synthesized.platform_stack.internal_api.node.scope
    assert platform_outputs["InternalApiStack"]["Value"] == synthesized.ref(internal_stack.nested_stack_resource)
    assert {outputs.INVOKE_URL, outputs.USER_ROLE} <= set(synthesized.internal["Outputs"])


def test_the_four_nag_packs_pass_and_audit_every_stack(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    packs = [r for r in report["pluginReports"] if r["pluginName"] in audit.PACKS]
    assert sorted(r["pluginName"] for r in packs) == sorted(audit.PACKS)
    assert all(r["conclusion"] == "success" and not r.get("violations") for r in packs)
    acknowledged = {
        construct["constructPath"]
        for r in packs
        for violation in r.get("suppressedViolations", [])
        for construct in violation["violatingConstructs"]
    }
    audited = ("HpcNetwork/Vpc/", "HpcPlatform/InternalApi/Api/", "HpcPlatform/UserApi/Api/", "HpcPlatform/CiRole/")
    for prefix in audited:
        assert any(path.startswith(prefix) for path in acknowledged), prefix


@pytest.mark.parametrize("template", TEMPLATES)
def test_cfn_lint_reports_nothing_but_w3005(synthesized, template):
    matches = cfnlint.api.lint(json.dumps(synthesized.templates[template]), regions=[TEST_REGION])
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in ACCEPTED_RULES] == []
