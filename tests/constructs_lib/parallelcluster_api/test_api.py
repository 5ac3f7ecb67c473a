"""What the ParallelClusterApi construct puts in a template, configuration by configuration."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk.region_info import RegionInfo

from constructs_lib import ApiEndpoint, BuildNetwork, FsxS3Access, FunctionCode, FunctionRole, ParallelClusterApi
from constructs_lib.validation import InvalidSettingError
from constructs_lib.versions import SUPPORTED_PARALLELCLUSTER_VERSIONS
from tests.cloudformation import Deployment
from tests.conftest import ACCOUNT, CONFIGURATIONS, PSEUDO_PARAMETERS, STACK_ID, TEST_REGION, render, synthesize
from tools.configurations import synthesize_settings

STACK_UUID = STACK_ID.rsplit("/", 1)[1]
SPEC_KEY = "parallelcluster/3.16.1/api/ParallelCluster.openapi.yaml"


def rest_api(configuration: str = "default") -> dict:
    return synthesize(configuration).only("AWS::ApiGateway::RestApi")


# --- The function --------------------------------------------------------------------------


def test_function_is_the_container_lambda_the_spec_refers_to(default):
    function = default.template["Resources"]["ParallelClusterFunction"]
    assert function["Type"] == "AWS::Lambda::Function"
    properties = function["Properties"]
    assert properties["PackageType"] == "Image"
    assert properties["MemorySize"] == 2048
    assert properties["Timeout"] == 30
    assert properties["TracingConfig"] == {"Mode": "Active"}
    tags = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
    assert tags == {"parallelcluster:version": "3.16.1", "parallelcluster:resource": "api"}


def test_function_runs_the_built_image_of_the_private_repository(default):
    (repository_id,) = default.resources("AWS::ECR::Repository")
    (image_id,) = default.resources("AWS::ImageBuilder::Image")
    separator, parts = default.template["Resources"]["ParallelClusterFunction"]["Properties"]["Code"]["ImageUri"]["Fn::Join"]
    # <account>.dkr.ecr.<region>.<url suffix>/<repository>:<tag of the image built with the stack>
    assert parts[-4:-1] == ["/", {"Ref": repository_id}, ":"]
    assert parts[-1] == {"Fn::Select": [1, {"Fn::Split": [":", {"Fn::GetAtt": [image_id, "ImageUri"]}]}]}
    repository = default.only("AWS::ECR::Repository")
    assert {"Key": "parallelcluster:version", "Value": "3.16.1"} in repository["Properties"]["Tags"]
    assert repository["DeletionPolicy"] == "Delete"
    assert repository["Properties"]["EmptyOnDelete"] is True
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_given_image_uri_means_no_repository():
    synthesized = synthesize("ecr-image")
    assert synthesized.resources("AWS::ECR::Repository") == {}
    image_uri = render(synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]["Code"]["ImageUri"])
    assert image_uri == f"{ACCOUNT}.dkr.ecr.{TEST_REGION}.amazonaws.com/pcluster-api:3.16.1"


FUNCTION_LOG_GROUP_ID = "ParallelClusterFunctionLogGroup"


def test_log_group_is_where_lambda_logs_the_function_with_30_days_retention(default):
    """As AWS's template has it: the function's default log group, under AWS's logical id."""
    log_group = default.template["Resources"][FUNCTION_LOG_GROUP_ID]
    function = default.template["Resources"]["ParallelClusterFunction"]["Properties"]
    # CloudFormation names the function; Lambda logs to /aws/lambda/<function name> by default.
    assert "FunctionName" not in function and "LoggingConfig" not in function
    assert log_group["Properties"]["LogGroupName"] == {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "ParallelClusterFunction"}]]}
    assert log_group["Properties"]["RetentionInDays"] == 30
    # A function of another package type is a new function: the group it replaces keeps its logs.
    assert (log_group["DeletionPolicy"], log_group["UpdateReplacePolicy"]) == ("Delete", "Retain")
    # No CDK log-retention helper function: every log group is a resource with its retention.
    assert default.resources("Custom::LogRetention") == {}
    for group in default.resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30 and group["DeletionPolicy"] == "Delete"


def test_the_api_serves_requests_once_the_function_may_write_its_logs(default):
    """The function does not wait for its role's policy (which names its log group): the stage does."""
    (policy_id,) = [
        logical_id for logical_id, policy in default.resources("AWS::IAM::ManagedPolicy").items()
        if f"<{FUNCTION_LOG_GROUP_ID}.Arn>" in json.dumps(render(policy["Properties"]["PolicyDocument"]))
    ]
    assert policy_id not in default.template["Resources"]["ParallelClusterFunction"].get("DependsOn", [])
    (stage,) = default.resources("AWS::ApiGateway::Stage").values()
    assert policy_id in stage["DependsOn"]


# --- Roles ---------------------------------------------------------------------------------


def test_execution_role_may_only_invoke_the_function(default):
    role = default.template["Resources"]["APIGatewayExecutionRole"]
    assert role["Type"] == "AWS::IAM::Role"
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}}
    ]
    assert "Policies" not in role["Properties"] and "ManagedPolicyArns" not in role["Properties"]
    assert default.resources("AWS::IAM::Policy") == {}, "no policy resource beside the managed ones"
    with_inline = [i for i, role in default.resources("AWS::IAM::Role").items() if "Policies" in role["Properties"]]
    assert with_inline == ["ApiAccountRoleA857F210"], "one inline policy: the account role's, which outlives the stack"
    (policy,) = policies_of(default, "APIGatewayExecutionRole")
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": ["ParallelClusterFunction", "Arn"]}}
    ]


def policies_of(synthesized, role_id: str) -> list[dict]:
    """The customer-managed policies attached to a role (the account role alone has an inline policy)."""
    return [
        policy for policy in synthesized.resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
    ]


def user_role(configuration: str = "default") -> dict:
    synthesized = synthesize(configuration)
    return synthesized.template["Resources"][_logical_id(synthesized, synthesized.stack.api.api_user_role)]


def test_api_user_role_is_assumable_by_the_account_and_may_invoke_this_api(default):
    role = user_role()
    assert render(role["Properties"]["RoleName"]) == f"PCAPIUserRole-{STACK_UUID}"
    trust = render(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]
    (api_id,) = default.resources("AWS::ApiGateway::RestApi")
    invoke = [
        render(policy["Properties"]["PolicyDocument"]["Statement"])
        for policy in policies_of(default, _logical_id(default, default.stack.api.api_user_role))
    ]
    assert invoke == [
        [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": f"arn:aws:execute-api:{TEST_REGION}:{ACCOUNT}:<{api_id}>/*/*/*",
            }
        ]
    ]


def test_no_user_role_when_not_wanted():
    synthesized = synthesize("no-user-role")
    assert synthesized.stack.api.api_user_role is None
    names = [render(role["Properties"].get("RoleName", "")) for role in synthesized.resources("AWS::IAM::Role").values()]
    assert not any("PCAPIUserRole" in str(name) for name in names)


def function_policies(configuration: str = "default") -> dict[str, dict]:
    """The function role's managed policies by construct id."""
    synthesized = synthesize(configuration)
    role_id = synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    stack = synthesized.stack
    # The role's own policy (its logs and X-Ray) is tested on its own.
    by_logical_id = {
        stack.resolve(policy.node.default_child.ref)["Ref"]: policy.node.id
        for policy in stack.api.node.children
        if isinstance(policy, iam.ManagedPolicy) and policy is not stack.api.function_role.managed_policy
    }
    return {
        by_logical_id[policy_id]: policy
        for policy_id, policy in synthesized.resources("AWS::IAM::ManagedPolicy").items()
        if {"Ref": role_id} in policy["Properties"].get("Roles", []) and policy_id in by_logical_id
    }


def test_function_role_has_the_parallelcluster_policies_and_no_aws_managed_policy(default):
    assert set(function_policies()) == {
        "ParallelClusterClusterPolicy1",
        "ParallelClusterClusterPolicy2",
        "ParallelClusterImageManagedPolicy",
        "ParallelClusterLogRetrievalPolicy",
    }
    for role in default.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def all_statements(configuration: str) -> list[dict]:
    return [
        statement
        for policy in function_policies(configuration).values()
        for statement in render(policy["Properties"]["PolicyDocument"]["Statement"])
    ]


def test_function_role_covers_cluster_image_and_log_operations():
    actions = {action for statement in all_statements("default") for action in _list(statement["Action"])}
    for needed in (
        "ec2:RunInstances",
        "cloudformation:CreateStack",
        "dynamodb:CreateTable",
        "iam:PassRole",
        "imagebuilder:CreateImage",
        "logs:FilterLogEvents",
        "fsx:*",
        "elasticfilesystem:*",
        "autoscaling:CreateAutoScalingGroup",
    ):
        assert needed in actions, needed
    # Without IAM admin access the function cannot create roles.
    assert "iam:CreateRole" not in actions


def test_no_aws_batch_grants_for_a_release_without_the_batch_scheduler():
    # ParallelCluster 3.16 removed AWS Batch: Scheduling/Scheduler accepts only slurm.
    batch_services = ("batch:", "ecs:", "codebuild:", "ecr:", "events:")
    for configuration in ("default", "iam-admin"):
        statements = all_statements(configuration)
        actions = {action for statement in statements for action in _list(statement["Action"])}
        assert not {action for action in actions if action.startswith(batch_services)}
        passed_to = json.dumps([s.get("Condition", {}) for s in statements if "iam:PassRole" in _list(s["Action"])])
        assert "batch.amazonaws.com" not in passed_to and "ecs-tasks" not in passed_to
        assert "AWSBatch" not in json.dumps(statements)


def test_function_writes_only_its_own_log_group_and_traces(default):
    role_id = default.template["Resources"]["ParallelClusterFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    log_group_id = FUNCTION_LOG_GROUP_ID
    (runtime,) = [p for p in policies_of(default, role_id) if p["Properties"]["Description"].startswith("Permissions of")]
    statements = render(runtime["Properties"]["PolicyDocument"]["Statement"])
    granted = sorted((tuple(sorted(s["Action"])), s["Resource"]) for s in statements)
    # X-Ray has no resource-level permissions for these actions (X-Ray IAM documentation).
    assert granted == [
        (("logs:CreateLogStream", "logs:PutLogEvents"), f"<{log_group_id}.Arn>"),
        (("xray:PutTelemetryRecords", "xray:PutTraceSegments"), "*"),
    ]


def test_single_region_limits_every_regional_permission():
    for statement in all_statements("single-region"):
        resources = _list(statement["Resource"])
        regional_arns = [arn for arn in resources if arn.startswith("arn:") and arn.split(":")[3]]
        if resources == ["*"] or any(arn.startswith("arn:aws:s3:::") for arn in resources):
            # Region-less resources: the requested Region is the limit (Route 53 is global).
            if not statement["Action"][0].startswith(("route53:", "iam:")):
                assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"] == [TEST_REGION], statement["Sid"]
        for arn in regional_arns:
            assert arn.split(":")[3] == TEST_REGION, (statement["Sid"], arn)


def test_all_regions_by_default():
    for statement in all_statements("default"):
        assert "aws:RequestedRegion" not in json.dumps(statement.get("Condition", {})), statement["Sid"]


@pytest.mark.parametrize("version", SUPPORTED_PARALLELCLUSTER_VERSIONS)
def test_managed_policies_fit_the_iam_size_limit_in_the_longest_partition_and_region(version):
    # IAM counts a managed policy's characters without white space: at most 6,144 (an official
    # template once exceeded it: aws/aws-parallelcluster issues 5736 and 6132). Region names go into
    # the ARNs of a single-Region API (the portable template takes any Region); the largest
    # configuration adds IAM admin access with a boundary, FSx buckets and a prefix.
    longest_region = max((region.name for region in RegionInfo.regions), key=len)
    longest = {**PSEUDO_PARAMETERS, "AWS::Partition": "aws-us-gov", "AWS::Region": longest_region}
    largest = {**CONFIGURATIONS["locked-down"], "Region": longest_region, "ParallelClusterVersion": version}
    templates = {"default": synthesize("default", version=version).template}
    templates["largest"] = synthesize_settings(largest, Path(tempfile.mkdtemp()))[1]
    for configuration, template in templates.items():
        deployment = Deployment(template, {}, longest)
        for logical_id, policy in deployment.resources().items():
            if policy["Type"] == "AWS::IAM::ManagedPolicy":
                document = policy["Properties"]["PolicyDocument"]
                size = len(re.sub(r"\s", "", json.dumps(document)))
                assert size <= 6144, (configuration, logical_id, size)


def test_a_given_function_role_is_used_as_is():
    synthesized = synthesize("function-role")
    role = synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]["Role"]
    assert role == f"arn:aws:iam::{ACCOUNT}:role/pcluster-api"
    descriptions = [p["Properties"]["Description"] for p in synthesized.resources("AWS::IAM::ManagedPolicy").values()]
    assert not any(d.startswith("ParallelCluster API function") for d in descriptions)
    assert not any("ParallelClusterFunction\n" in d or d.endswith("/Api/FunctionRole") for d in descriptions)
    assert synthesized.stack.api.function_role.role_arn == f"arn:aws:iam::{ACCOUNT}:role/pcluster-api"


# --- The REST API --------------------------------------------------------------------------


def test_rest_api_body_is_the_official_spec_included_from_the_deployment_region():
    assert rest_api()["Properties"]["Body"] == {
        "Fn::Transform": {
            "Name": "AWS::Include",
            "Parameters": {"Location": f"s3://{TEST_REGION}-aws-parallelcluster/{SPEC_KEY}"},
        }
    }
    assert rest_api()["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert "BodyS3Location" not in rest_api()["Properties"]


def test_given_spec_location_is_included_as_is():
    location = rest_api("own-spec")["Properties"]["Body"]["Fn::Transform"]["Parameters"]["Location"]
    assert location == "s3://my-specs/parallelcluster/ParallelCluster.openapi.yaml"


def test_a_stack_without_region_takes_the_spec_location_as_a_template_parameter():
    synthesized = synthesize("default", region=None)
    location = synthesized.only("AWS::ApiGateway::RestApi")["Properties"]["Body"]["Fn::Transform"]["Parameters"]["Location"]
    assert location == {"Ref": "ApiDefinitionS3Uri"}
    parameter = synthesized.template["Parameters"]["ApiDefinitionS3Uri"]
    assert SPEC_KEY in parameter["Description"]
    assert re.fullmatch(parameter["AllowedPattern"], f"s3://eu-west-1-aws-parallelcluster/{SPEC_KEY}")


def test_prod_stage_traces_throttles_and_measures(default):
    stage = default.only("AWS::ApiGateway::Stage")["Properties"]
    assert stage["StageName"] == "prod"
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "LoggingLevel": "ERROR",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 10,
            "ThrottlingRateLimit": 100,
        }
    ]
    assert {"Key": "parallelcluster:version", "Value": "3.16.1"} in stage["Tags"]
    assert {"Key": "parallelcluster:version", "Value": "3.16.1"} in rest_api()["Properties"]["Tags"]


def test_resource_policy_denies_everyone_but_the_user_role_and_its_sessions():
    policy = render(rest_api()["Properties"]["Policy"])
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{render(user_role()['Properties']['RoleName'])}"
    assert policy["Statement"] == [
        {
            "Action": "execute-api:Invoke",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": [role_arn]}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": "execute-api:/*/*/*",
        }
    ]
    # No cycle: the API's policy names the role without referencing the role resource.
    assert "Fn::GetAtt" not in json.dumps(rest_api()["Properties"]["Policy"])
    assert '"Ref": "Api' not in json.dumps(rest_api()["Properties"]["Policy"])


def test_no_resource_policy_without_user_role():
    assert "Policy" not in rest_api("no-user-role")["Properties"]


def test_no_account_level_api_gateway_settings(default):
    # The API Gateway CloudWatch role is shared by every API of the account and Region.
    assert default.resources("AWS::ApiGateway::Account") == {}


def test_every_arn_is_partition_aware():
    for configuration in ("default", "single-region", "iam-admin", "private", "custom-domain-zone-prefix"):
        text = json.dumps(synthesize(configuration).template)
        literal = [match for match in re.findall(r'"arn:aws[^"]*"', text) if ACCOUNT not in match]
        assert literal == [], configuration


def test_invoke_url_is_the_prod_stage_without_trailing_slash(default):
    assert render(default.stack.resolve(default.stack.api.invoke_url)) == (
        f"https://<{next(iter(default.resources('AWS::ApiGateway::RestApi')))}>.execute-api.{TEST_REGION}.amazonaws.com/prod"
    )


# --- The construct as a library ------------------------------------------------------------


def test_a_second_api_in_the_same_stack_is_refused():
    stack = cdk.Stack(cdk.App())
    ParallelClusterApi(stack, "First")
    with pytest.raises(ValueError, match="NestedStack"):
        ParallelClusterApi(stack, "Second")


def test_apis_in_nested_stacks_of_one_stack_are_fine():
    stack = cdk.Stack(cdk.App())
    first = ParallelClusterApi(cdk.NestedStack(stack, "One"), "Api")
    second = ParallelClusterApi(cdk.NestedStack(stack, "Two"), "Api")
    assert first.function is not second.function


def test_construct_attributes_are_the_underlying_resources(default):
    api = default.stack.api
    assert default.stack.resolve(api.function.node.default_child.ref) == {"Ref": "ParallelClusterFunction"}
    assert isinstance(api.api_user_role, iam.Role)
    assert api.rest_api.deployment_stage.node.default_child.stage_name == "prod"
    assert api.log_group.node.default_child is not None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: {"parallelcluster_version": "3"}, "parallelcluster_version: expected a ParallelCluster version"),
        (lambda: {"parallelcluster_version": "3.15.0"}, "parallelcluster_version: expected a ParallelCluster version this project serves"),
        (lambda: {"region": "moon-1"}, "region: expected '*' or a Region name"),
        (lambda: {"iam_role_and_policy_prefix": "eleven-char"}, "iam_role_and_policy_prefix: expected at most 10"),
        (lambda: {"reserved_concurrent_executions": 0}, "reserved_concurrent_executions: expected a positive whole number"),
        (lambda: {"web_acl_arn": "arn:aws:waf::1:webacl/x"}, "web_acl_arn: expected a regional AWS WAF web ACL ARN"),
        (lambda: {"api_definition_s3_uri": "https://example.com/spec"}, "api_definition_s3_uri: expected an S3 URI"),
        (lambda: {"function_code": FunctionCode.from_ecr_image_uri("public.ecr.aws/x/y:1")}, "image_uri: expected a private ECR image URI"),
        (lambda: {"function_code": FunctionCode.copy_of_image("no-tag")}, "image_uri: expected a container image URI"),
        (lambda: {"function_code": FunctionCode.build_in_account(network=BuildNetwork("vpc-1", "subnet-0123456789abcdef0"))}, "vpc_id: expected a VPC id"),
        (lambda: {"function_role": FunctionRole.create(fsx_s3_access=FsxS3Access.of_bucket_arns("bucket"))}, "bucket_arns: expected an S3 bucket ARN"),
        (lambda: {"function_role": FunctionRole.create(fsx_s3_access=FsxS3Access.of_bucket_arns())}, "fsx_s3_access: expected at least one bucket"),
    ],
)
def test_construct_props_are_checked_once_where_they_are_made(build, message):
    with pytest.raises(InvalidSettingError, match=re.escape(message)):
        ParallelClusterApi(cdk.Stack(cdk.App()), "Api", **build())


def test_tokens_are_accepted_where_values_come_at_deploy_time():
    stack = cdk.Stack(cdk.App())
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    version = cdk.CfnParameter(stack, "ImageTag").value_as_string
    repository = ecr.Repository(stack, "Images")
    api = ParallelClusterApi(
        stack,
        "Api",
        function_role=FunctionRole.use(role),
        function_code=FunctionCode.from_ecr_image(repository, tag_or_digest=version),
        region=cdk.CfnParameter(stack, "Region").value_as_string,
    )
    assert api.function_role is role


def test_typed_props_take_cdk_references():
    """A platform passes what it holds: a VPC endpoint, a zone, a certificate, a boundary, a key."""

    def build(stack):
        vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0)
        endpoint = vpc.add_interface_endpoint("ExecuteApi", service=ec2.InterfaceVpcEndpointAwsService.APIGATEWAY)
        boundary = iam.ManagedPolicy(stack, "Boundary", statements=[iam.PolicyStatement(actions=["*"], resources=["*"])])
        ParallelClusterApi(stack, "Api", endpoint=ApiEndpoint.private(endpoint), permissions_boundary=boundary)

    template = embedded(build)
    (api,) = [v for v in template["Resources"].values() if v["Type"] == "AWS::ApiGateway::RestApi"]
    (endpoint_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::EC2::VPCEndpoint"]
    assert api["Properties"]["EndpointConfiguration"]["VpcEndpointIds"] == [{"Ref": endpoint_id}]
    (boundary_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::ManagedPolicy" and k.startswith("Boundary")]
    function_role = template["Resources"][template["Resources"]["ParallelClusterFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]]
    assert function_role["Properties"]["PermissionsBoundary"] == {"Ref": boundary_id}


def _logical_id(synthesized, construct) -> str:
    return synthesized.stack.resolve(construct.node.default_child.ref)["Ref"]


def _list(value) -> list:
    return value if isinstance(value, list) else [value]



def embedded(build) -> dict:
    """Synthesize a plain stack (no app settings, no audit) holding what ``build`` makes."""
    app = cdk.App()
    stack = cdk.Stack(app, "Platform")
    build(stack)
    return app.synth().get_stack_by_name("Platform").template


def test_grant_invoke_after_construction_admits_the_grantee():
    def build(stack):
        api = ParallelClusterApi(stack, "Api")
        ci_role = iam.Role(stack, "CiRole", assumed_by=iam.AccountRootPrincipal())
        api.grant_invoke(ci_role)

    template = embedded(build)
    (ci_role_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role" and k.startswith("CiRole")]
    (api,) = [v for v in template["Resources"].values() if v["Type"] == "AWS::ApiGateway::RestApi"]
    (deny,) = api["Properties"]["Policy"]["Statement"]
    admitted = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert {"Fn::GetAtt": [ci_role_id, "Arn"]} in admitted
    assert len(admitted) == 2  # the user role and the CI role
    (grant,) = [
        v for v in template["Resources"].values()
        if v["Type"] == "AWS::IAM::Policy" and v["Properties"]["Roles"] == [{"Ref": ci_role_id}]
    ]
    (statement,) = grant["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"


def test_grant_invoke_needs_a_principal_with_an_arn():
    stack = cdk.Stack(cdk.App())
    api = ParallelClusterApi(stack, "Api")
    with pytest.raises(ValueError, match="aws:PrincipalArn"):
        api.grant_invoke(iam.ServicePrincipal("lambda.amazonaws.com"))


def test_every_prop_has_a_default_so_the_construct_alone_is_the_default_api():
    template = embedded(lambda stack: ParallelClusterApi(stack, "Api"))
    assert template["Resources"]["ParallelClusterFunction"]["Properties"]["MemorySize"] == 2048
    assert "APIGatewayExecutionRole" in template["Resources"]
    assert not [v for v in template["Resources"].values() if v["Type"] == "AWS::ApiGateway::Account"]


def test_nested_api_without_region_takes_the_spec_location_from_the_top_level_stack():
    app = cdk.App()
    parent = cdk.Stack(app, "Parent")
    nested = cdk.NestedStack(parent, "Hpc")
    ParallelClusterApi(nested, "Api")
    assembly = app.synth()
    template = assembly.get_stack_by_name("Parent").template
    assert "ApiDefinitionS3Uri" in template["Parameters"]
    (nested_resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack"]
    passed = nested_resource["Properties"]["Parameters"]
    (name,) = [n for n, value in passed.items() if value == {"Ref": "ApiDefinitionS3Uri"}]
    nested_template = json.loads((Path(assembly.directory) / f"{nested.artifact_id}.nested.template.json").read_text())
    (api,) = [r for r in nested_template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert api["Properties"]["Body"]["Fn::Transform"]["Parameters"]["Location"] == {"Ref": name}


# --- The official layer (LambdaImageSource=layer) -------------------------------------------


def test_layer_source_runs_the_official_layer_of_the_version_on_python_312():
    synthesized = synthesize("layer")
    function = synthesized.template["Resources"]["ParallelClusterFunction"]["Properties"]
    (layer_id, layer), = synthesized.resources("AWS::Lambda::LayerVersion").items()
    assert function["Runtime"] == "python3.12"
    assert function["Handler"] == "pcluster.api.awslambda.entrypoint.lambda_handler"
    assert function["Layers"] == [{"Ref": layer_id}]
    assert "PackageType" not in function  # Zip, the default
    content = render(layer["Properties"]["Content"])
    assert content == {
        "S3Bucket": f"{TEST_REGION}-aws-parallelcluster",
        "S3Key": "parallelcluster/3.16.1/layers/aws-parallelcluster/lambda-layer.zip",
    }
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer.get("DeletionPolicy", "Delete") == "Delete"


def test_layer_source_builds_nothing():
    synthesized = synthesize("layer")
    for resource_type in ("AWS::ECR::Repository", "AWS::ImageBuilder::Image", "AWS::ImageBuilder::ImagePipeline"):
        assert synthesized.resources(resource_type) == {}, resource_type
    assert "ParallelClusterDockerUpdateImagePipeline" not in synthesized.template["Outputs"]


def test_a_switch_between_layer_and_image_redeploys_the_api_and_keeps_the_permissions():
    """PackageType is create-only: a switch makes a new function (a new ARN), so the API needs a new
    deployment, a snapshot of its integrations; CloudFormation names each function."""
    layer, image = synthesize("layer"), synthesize("default")
    assert "FunctionName" not in layer.template["Resources"]["ParallelClusterFunction"]["Properties"]
    assert set(layer.resources("AWS::ApiGateway::Deployment")).isdisjoint(image.resources("AWS::ApiGateway::Deployment"))
    assert function_policies("layer").keys() == function_policies("default").keys()
    for policy_id, policy in function_policies("layer").items():
        assert policy["Properties"]["PolicyDocument"] == function_policies("default")[policy_id]["Properties"]["PolicyDocument"]
