"""The portable template (``make template``): the app's construct, with the options as parameters.

The central check: for many parameter sets, what CloudFormation makes of the template (conditions,
``Fn::If``, parameters resolved by ``cloudformation.py``) equals what the CDK app synthesizes with
the same settings: resources, properties, policies, logical ids, creation order and outputs.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import cfnlint.api
import pytest
import yaml

from constructs_lib import InvalidSettingError, audit
from constructs_lib.parallelcluster_api.plan import OfficialDomain
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION, SUPPORTED_PARALLELCLUSTER_VERSIONS
from stacks.options import UNUSED_PARAMETERS
from stacks.portable_template import parameters
from stacks.settings import Settings
from tests.cloudformation import Deployment, Refused
from tests.conftest import ACCOUNT, BOUNDARY_ARN, CONFIGURATIONS, PSEUDO_PARAMETERS, TEST_REGION, synthesize
from tests.stacks.portable import portable
from tools import portable_template
from tools.configurations import synthesize_settings

pytestmark = pytest.mark.xdist_group("portable_template")

ACCEPTED_LINT_RULES = {"W3005"}
TEMPLATE_PARAMETERS = {parameter.name for parameter in parameters(TEST_REGION, "3.16.1")}


# The app builds the function's image in the account unless told otherwise; the template runs the layer.
APP_CODE_DEFAULT = {"LambdaImageSource": "imagebuilder"}


def app_settings(name: str) -> dict[str, str]:
    # The stack's name is chosen when the template is deployed.
    return {key: value for key, value in CONFIGURATIONS[name].items() if key != "StackName"}


def parameter_sets() -> dict[str, dict[str, str]]:
    """The template's parameter values for each configuration of the app that they can express (all
    but a locally built image and principals named in the resource policy), the seed's defaults
    first; the app's default code is said explicitly."""
    allowed = {parameter.name: parameter.allowed_values for parameter in parameters(TEST_REGION, "3.16.1")}
    sets = {}
    for name in CONFIGURATIONS:
        settings = app_settings(name)
        if set(settings) <= TEMPLATE_PARAMETERS and all(
            allowed[key] is None or value in allowed[key] for key, value in settings.items()
        ):
            sets[name] = {**APP_CODE_DEFAULT, **settings}
    return sets


PARAMETER_SETS = parameter_sets()


def app_template(name: str) -> dict[str, Any]:
    settings = app_settings(name)
    if settings == CONFIGURATIONS[name]:
        return synthesize(name).template
    # The app with the default stack name.
    return synthesize_settings(settings, Path(tempfile.mkdtemp(prefix="cdk-test-")))[1]


def deployed(template: dict[str, Any], values: dict[str, str] | None = None) -> Deployment:
    deployment = Deployment(template, values or {}, PSEUDO_PARAMETERS)
    deployment.check()
    return deployment


def comparable(deployment: Deployment) -> dict[str, Any]:
    """What a stack holds, in a form two templates can be compared in.

    Two things are written differently but mean the same. API Gateway's deployment is named by
    CDK from a hash of the REST API's template text, which in the portable template holds the
    conditions rather than their outcome (the README says when to redeploy after changing a
    parameter). IAM reads a policy's actions and resources as sets, and one value as a list of
    one (IAM JSON policy grammar); CDK sorts what it knows at synth time, and the template joins
    and splits lists at deploy time. And a number from a parameter is text, which CloudFormation
    converts to the property's type: numbers are compared as text.
    """
    resources, order, outputs = deployment.resources(), deployment.order(), deployment.outputs()
    (deployment_id,) = [key for key, value in resources.items() if value["Type"] == "AWS::ApiGateway::Deployment"]
    text = json.dumps({"resources": resources, "order": {key: sorted(value) for key, value in order.items()}, "outputs": outputs})
    state = json.loads(text.replace(deployment_id, "ApiDeployment"))
    for resource in state["resources"].values():
        _policy_sets(resource)
    return _numbers_as_text(state)


def _numbers_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _numbers_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_text(item) for item in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _policy_sets(value: Any) -> None:
    if isinstance(value, dict):
        if "Effect" in value and ("Action" in value or "NotAction" in value):
            for key in ("Action", "NotAction", "Resource", "NotResource"):
                if key in value:
                    items = value[key] if isinstance(value[key], list) else [value[key]]
                    value[key] = sorted(items, key=json.dumps)
        for item in value.values():
            _policy_sets(item)
    elif isinstance(value, list):
        for item in value:
            _policy_sets(item)


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_the_template_holds_what_the_app_synthesizes_with_the_same_settings(name):
    template, _ = portable()
    expected = comparable(Deployment(app_template(name), {}, PSEUDO_PARAMETERS))
    actual = comparable(deployed(template, PARAMETER_SETS[name]))
    assert sorted(actual["resources"]) == sorted(expected["resources"]), "the same logical ids"
    for logical_id, resource in expected["resources"].items():
        assert actual["resources"][logical_id] == resource, logical_id
    assert actual["order"] == expected["order"], "the same creation order"
    assert actual["outputs"] == expected["outputs"]


def test_the_parameter_sets_set_every_parameter():
    """Each option is tried: every parameter takes a value other than its default in some set."""
    defaults = {parameter.name: parameter.default for parameter in parameters(TEST_REGION, "3.16.1")}
    tried = {key for settings in PARAMETER_SETS.values() for key, value in settings.items() if value != defaults[key]}
    # AWS's parameters that have no use here accept only their empty default.
    assert tried == TEMPLATE_PARAMETERS - set(UNUSED_PARAMETERS)
    assert PARAMETER_SETS["default"] == APP_CODE_DEFAULT, "the seed's defaults"
    assert set(PARAMETER_SETS["parallelcluster-ui"]) >= {
        "CreateApiUserRole", "EnableIamAdminAccess", "PermissionsBoundaryPolicy", "IAMRoleAndPolicyPrefix",
        "ApiDefinitionS3Uri", "VpcEndpointId", "ParallelClusterFunctionAdditionalPolicies",
    }


def test_the_comparison_sees_a_difference():
    """The equivalence check can fail: a template whose function differs is told apart."""
    template, _ = portable()
    changed = copy.deepcopy(template)
    changed["Resources"]["ParallelClusterFunction"]["Properties"]["MemorySize"] = 1024
    expected = comparable(Deployment(app_template("default"), {}, PSEUDO_PARAMETERS))
    assert comparable(deployed(template, PARAMETER_SETS["default"])) == expected
    assert comparable(deployed(changed, PARAMETER_SETS["default"])) != expected


def test_the_template_runs_aws_layer_by_default():
    """As AWS's template does since ParallelCluster 3.6: the app with LambdaImageSource=layer."""
    template, _ = portable()
    assert template["Parameters"]["LambdaImageSource"]["Default"] == "layer"
    assert comparable(deployed(template)) == comparable(Deployment(app_template("layer"), {}, PSEUDO_PARAMETERS))


def test_a_named_image_overrides_the_default_layer():
    template, _ = portable()
    image_uri = f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/pcluster-api:3.16.1"
    resources = deployed(template, {"EcrImageUri": image_uri}).resources()
    assert resources["ParallelClusterFunction"]["Properties"]["Code"] == {"ImageUri": image_uri}
    assert "PclusterLayer" not in resources


def test_the_template_needs_no_bootstrap_and_no_asset():
    template, _ = portable()
    assert set(template["Parameters"]) == TEMPLATE_PARAMETERS
    assert "CheckBootstrapVersion" not in template.get("Rules", {})
    text = json.dumps(template)
    assert "cdk-hnb659fds" not in text and "AssetParameters" not in text
    assert not [resource for resource in template["Resources"].values() if resource["Type"] == "AWS::CDK::Metadata"]
    functions = [resource for resource in template["Resources"].values() if resource["Type"] == "AWS::Lambda::Function"]
    assert all("S3Bucket" not in json.dumps(function["Properties"].get("Code", {})) for function in functions)


def test_the_spec_location_defaults_to_the_official_spec_of_the_region():
    for region in (TEST_REGION, "us-gov-west-1"):
        template, _ = portable(region)
        assert template["Parameters"]["ApiDefinitionS3Uri"]["Default"] == (
            f"s3://{region}-aws-parallelcluster/parallelcluster/3.16.1/api/ParallelCluster.openapi.yaml"
        )


@pytest.mark.parametrize("region", [TEST_REGION, "cn-north-1", "us-gov-west-1"])
def test_cfn_lint_reports_nothing_in_every_partition(region):
    template, _ = portable(region)
    matches = cfnlint.api.lint(json.dumps(template), regions=[region])
    assert [f"{match.rule.id} {match.message}" for match in matches if match.rule.id not in ACCEPTED_LINT_RULES] == []


def test_the_template_for_a_stack_with_aws_custom_domain_is_clean_and_keeps_that_domain():
    """make template OFFICIAL_DOMAIN=<domain>,<zone>: SAM's logical ids for those values, and no other domain."""
    domain = OfficialDomain("pcluster.example.com", "Z0123456789ABCDEFGHIJ")
    template, report = portable(TEST_REGION, domain)
    matches = cfnlint.api.lint(json.dumps(template), regions=[TEST_REGION])
    assert [f"{match.rule.id} {match.message}" for match in matches if match.rule.id not in ACCEPTED_LINT_RULES] == []
    assert {plugin["conclusion"] for plugin in report["pluginReports"]} == {"success"}
    assert template["Parameters"]["CustomDomainName"]["Default"] == domain.domain_name
    with pytest.raises(Refused, match="CustomDomainName: .*this template keeps the custom domain pcluster.example.com"):
        deployed(template, {"CustomDomainName": "other.example.com"})


def test_every_cdk_nag_pack_and_cdk_template_validation_pass():
    _, report = portable()
    conclusions = {plugin["pluginName"]: plugin["conclusion"] for plugin in report["pluginReports"]}
    assert conclusions == {**{pack: "success" for pack in audit.PACKS}, "CloudFormation Validate": "success"}


@pytest.mark.parametrize("version", [v for v in SUPPORTED_PARALLELCLUSTER_VERSIONS if v != DEFAULT_PARALLELCLUSTER_VERSION])
def test_the_template_of_every_other_served_version(version):
    """``make template VERSION=...``: lint and audit clean, and what the app makes of that version."""
    template, report = portable(TEST_REGION, version=version)
    assert template["Description"].startswith(f"AWS ParallelCluster API {version}")
    matches = cfnlint.api.lint(json.dumps(template), regions=[TEST_REGION])
    assert [f"{match.rule.id} {match.message}" for match in matches if match.rule.id not in ACCEPTED_LINT_RULES] == []
    conclusions = {plugin["pluginName"]: plugin["conclusion"] for plugin in report["pluginReports"]}
    assert set(conclusions.values()) == {"success"} and len(conclusions) == len(audit.PACKS) + 1
    for name in ("layer", "iam-admin-boundary"):
        expected = comparable(Deployment(synthesize(name, version=version).template, {}, PSEUDO_PARAMETERS))
        assert comparable(deployed(template, PARAMETER_SETS[name])) == expected, name


def test_every_role_takes_the_boundary_when_one_is_given():
    template, _ = portable()
    for values in ({"PermissionsBoundaryPolicy": BOUNDARY_ARN}, PARAMETER_SETS["parallelcluster-ui"]):
        roles = [r for r in deployed(template, values).resources().values() if r["Type"] == "AWS::IAM::Role"]
        assert roles and all(role["Properties"]["PermissionsBoundary"] == BOUNDARY_ARN for role in roles)
    roles = [r for r in deployed(template).resources().values() if r["Type"] == "AWS::IAM::Role"]
    assert not [role for role in roles if "PermissionsBoundary" in role["Properties"]]


def test_every_arn_names_the_partition():
    """ARNs are built from AWS::Partition (parameter descriptions and the helpers' code show examples)."""
    template, _ = portable()
    resources = copy.deepcopy(template["Resources"])
    for resource in resources.values():
        resource.get("Properties", {}).get("Code", {}).pop("ZipFile", None)
    text = json.dumps([resources, template["Outputs"], template["Conditions"], template["Rules"]])
    assert "arn:aws:" not in text and "arn:aws-" not in text


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        # The official template's own constraints.
        ({"EnableIamAdminAccess": "yes"}, "EnableIamAdminAccess"),
        ({"CreateApiUserRole": "True"}, "CreateApiUserRole"),
        ({"EnableFSxS3Access": "1"}, "EnableFSxS3Access"),
        ({"FsxS3Buckets": "s3://fsx-data", "EnableFSxS3Access": "true"}, "FsxS3Buckets"),
        ({"PermissionsBoundaryPolicy": "pcluster-boundary"}, "PermissionsBoundaryPolicy"),
        ({"IAMRoleAndPolicyPrefix": "much-too-long"}, "IAMRoleAndPolicyPrefix"),
        # Ours, in the app's words.
        ({"Region": "Europe"}, "Region"),
        ({"LambdaImageSource": "asset"}, "LambdaImageSource"),
        ({"ReservedConcurrency": "0"}, "ReservedConcurrency"),
        ({"EcrImageUri": "docker.io/library/python:3.12"}, "EcrImageUri"),
        ({"VpcEndpointId": "vpce-xyz"}, "VpcEndpointId"),
        ({"ParallelClusterFunctionRole": f"arn:aws:iam::{ACCOUNT}:user/admin"}, "ParallelClusterFunctionRole"),
    ],
)
def test_bad_values_are_refused_by_the_parameter_constraints(values, refused):
    template, _ = portable()
    with pytest.raises(Refused) as error:
        deployed(template, values)
    assert str(error.value).startswith(f"{refused}:")


@pytest.mark.parametrize(
    "values",
    [
        {"CustomDomainName": "api.example.com"},
        {"CustomDomainHostedZoneId": "Z0123456789ABCDEFGHIJ"},
        {"EnableFSxS3Access": "true"},
        {"FsxS3Buckets": "*"},
        {"ImageBuilderVpcId": "vpc-0123456789abcdef0"},
        {"VpcEndpointId": "vpce-0123456789abcdef0", "CustomDomainName": "api.example.com",
         "CustomDomainCertificate": f"arn:aws:acm:{TEST_REGION}:{ACCOUNT}:certificate/0f4e7c52"},
        {"LambdaImageSource": "layer", "ImageBuilderVpcId": "vpc-0123456789abcdef0", "ImageBuilderSubnetId": "subnet-0123456789abcdef0"},
        {"EcrImageUri": f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/api:1", "PublicEcrImageUri": "public.ecr.aws/x/y:1"},
        {"CustomBucket": "my-layers", "LambdaImageSource": "imagebuilder"},
        {"CustomBucket": "my-layers", "EcrImageUri": f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/api:1"},
        {"PoliciesTemplateUri": "s3://my-bucket/policies.yaml"},
        {"ParallelClusterFunctionRole": f"arn:aws:iam::{ACCOUNT}:role/r", "EnableIamAdminAccess": "true"},
        {"ParallelClusterFunctionRole": f"arn:aws:iam::{ACCOUNT}:role/r",
         "ParallelClusterFunctionAdditionalPolicies": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    ],
)
def test_contradicting_values_are_refused_by_a_rule_in_the_apps_words(values):
    """The template's rules refuse what the app refuses, with the app's message."""
    template, _ = portable()
    with pytest.raises(InvalidSettingError) as app_error:
        Settings.from_context(values)
    with pytest.raises(Refused) as template_error:
        deployed(template, values)
    assert str(template_error.value) == str(app_error.value).split("; got")[0]


def test_other_defaults_are_checked_and_written(tmp_path, capsys):
    """DEFAULTS= gives a deployer who cannot pass parameters (a nested stack) other defaults."""
    assert portable_template.main(["--region", TEST_REGION, "--output-dir", str(tmp_path), "--default", "LambdaImageSource=imagebuilder"]) == 0
    written = yaml.safe_load((tmp_path / TEST_REGION / "parallelcluster-api.yaml").read_text())
    assert written["Parameters"]["LambdaImageSource"]["Default"] == "imagebuilder"
    function = deployed(written).resources()["ParallelClusterFunction"]["Properties"]
    assert function["PackageType"] == "Image" and "Layers" not in function
    capsys.readouterr()
    assert portable_template.main(["--region", TEST_REGION, "--default", "LambdaImageSource=asset"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "error: LambdaImageSource: expected layer or imagebuilder; got 'asset'"


@pytest.mark.parametrize("value", ["pcluster.example.com", "pcluster.example.com,example.com", "Not A Domain,Z0123456789"])
def test_make_template_names_a_bad_official_domain_in_one_line(value, capsys):
    assert portable_template.main(["--region", TEST_REGION, "--official-domain", value, "--output-dir", tempfile.mkdtemp()]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"error: --official-domain: expected DOMAIN,HOSTED_ZONE_ID, e.g. api.example.com,Z0123456789ABCDEFGHIJ; got {value!r}"


def test_make_template_names_a_bad_region_in_one_line(capsys):
    assert portable_template.main(["--region", "mars-1", "--output-dir", tempfile.mkdtemp()]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: region: expected '*' or a Region name")
