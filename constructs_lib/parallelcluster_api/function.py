"""The API function: its code (an image built, copied or given, or the official layer), role and logs."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Aws, Duration, Fn, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import validation as rules
from constructs_lib.api_image import dockerfile, locks
from constructs_lib.api_image.image_build import ApiImageBuild
from constructs_lib.audit import acknowledge, acknowledge_wildcards, nag_text
from constructs_lib.conventions import Conventions
from constructs_lib.l1 import l1
from constructs_lib.managed_policy_role import ManagedPolicyRole
from constructs_lib.parallelcluster_api import function_permissions as permissions
from constructs_lib.parallelcluster_api.props import FunctionCode, FunctionCodeSource, FunctionRole

# The official OpenAPI spec refers to this logical id from its integrations
# (`${ParallelClusterFunction.Arn}`); AWS::Include resolves it against this template.
FUNCTION_LOGICAL_ID = "ParallelClusterFunction"
RESOURCE_TAG = "parallelcluster:resource"
# The function's entry point in aws-parallelcluster[awslambda], in the image and in the layer.
API_HANDLER = "pcluster.api.awslambda.entrypoint.lambda_handler"
# The runtime AWS's own API template gives the function with the official layer (3.6 and later).
LAYER_RUNTIME = lambda_.Runtime.PYTHON_3_12
IMAGE_FUNCTION_NAME_PREFIX = "ParallelClusterFunction-"
LAYER_FUNCTION_NAME_PREFIX = "ParallelClusterLayerFunction-"
# Managed policies attached to one IAM role: 10 by default, at most 20 (IAM quotas documentation).
DEFAULT_MANAGED_POLICIES_QUOTA = 10
MAX_MANAGED_POLICIES_PER_ROLE = 20


class ApiFunction:
    """``ParallelClusterFunction``, its role, its log group, and where its code comes from.

    Not a construct of its own: it adds its resources to the API construct's scope, where the
    deployed stacks have them (construct paths make the logical ids). Attributes: ``function``,
    ``role``, ``log_group``, ``repository`` and ``image_build`` (image built in the account),
    ``layer`` (official layer).
    """

    def __init__(
        self,
        scope: Construct,
        *,
        parallelcluster_version: str,
        region: str,
        code: FunctionCode,
        role: FunctionRole,
        permissions_boundary: iam.IManagedPolicy | None,
        conventions: Conventions,
        reserved_concurrent_executions: int | None,
    ) -> None:
        self._scope = scope
        self._version = parallelcluster_version
        self._conventions = conventions
        self.repository: ecr.Repository | None = None
        self.image_build: ApiImageBuild | None = None
        self.layer: lambda_.LayerVersion | None = None

        # A name of our choosing lets the log group exist, with its retention, before the function
        # can write to it; otherwise Lambda would create /aws/lambda/<name> itself, kept forever.
        # PackageType cannot change in place (it is create-only), so moving between an image and
        # the layer replaces the function, which CloudFormation does only under a new name.
        uses_layer = code.source is FunctionCodeSource.OFFICIAL_LAYER
        function_name = (
            Fn.join("", [LAYER_FUNCTION_NAME_PREFIX, conventions.stack_id_suffix])
            if uses_layer
            else f"{IMAGE_FUNCTION_NAME_PREFIX}{conventions.stack_uuid}"
        )
        self.log_group = conventions.log_group(scope, "FunctionLogGroup", log_group_name=f"/aws/lambda/{function_name}")
        if role.existing is None:
            self.role: iam.IRole = self._create_role(region, role, permissions_boundary)
            self.log_group.grant_write(self.role)
        else:
            self.role = role.existing

        common: dict[str, Any] = dict(
            function_name=function_name,
            role=self.role,
            memory_size=2048,
            timeout=Duration.seconds(30),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        if uses_layer:
            self.layer = self._official_layer()
            self.function: lambda_.Function = lambda_.Function(
                scope,
                "Function",
                runtime=LAYER_RUNTIME,
                handler=API_HANDLER,
                # The code is all in the layer; Lambda needs a non-empty package all the same.
                code=lambda_.Code.from_inline(" "),
                layers=[self.layer],
                **common,
            )
            acknowledge(
                self.function,
                "The official ParallelCluster layer is built for python3.12 (its compiled dependencies "
                "are CPython 3.12 wheels), which Lambda supports until October 2028.",
                "AwsSolutions-L1",
                "Serverless-LambdaLatestVersion",
            )
        else:
            self.function = lambda_.DockerImageFunction(scope, "Function", code=self._image_code(code), **common)
        l1(self.function, lambda_.CfnFunction).override_logical_id(FUNCTION_LOGICAL_ID)
        self._acknowledge_findings(reserved_concurrent_executions)
        Tags.of(self.function).add(RESOURCE_TAG, "api")
        if self.image_build is not None:
            self.image_build.keep_function_current(self.function)

    def _official_layer(self) -> lambda_.LayerVersion:
        """AWS's own ParallelCluster layer of this version, from the deployment Region's bucket.

        CloudFormation copies the layer archive when it creates the layer version, so the function
        keeps working whatever happens to the bucket later.
        """
        bucket = s3.Bucket.from_bucket_name(self._scope, "ParallelClusterBucket", f"{Aws.REGION}-aws-parallelcluster")
        Annotations.of(bucket).acknowledge_warning(
            "@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified",
            "The key names the ParallelCluster version and AWS publishes one layer per version: "
            "another version is another key, which makes a new layer version.",
        )
        return lambda_.LayerVersion(
            self._scope,
            "Layer",
            code=lambda_.Code.from_bucket(bucket, official_layer_s3_key(self._version)),
            compatible_runtimes=[LAYER_RUNTIME],
            description=f"aws-parallelcluster {self._version} and its dependencies (official layer)",
        )

    def _image_code(self, code: FunctionCode) -> lambda_.DockerImageCode:
        """The function's image: given, built locally as an asset, or built in the account."""
        scope = self._scope
        if code.source is FunctionCodeSource.ECR_IMAGE:
            assert code.image_uri is not None
            repository, reference = _repository_and_reference(scope, code.image_uri)
            return lambda_.DockerImageCode.from_ecr(repository, tag_or_digest=reference)
        if code.source is FunctionCodeSource.LOCAL_DOCKER:
            return lambda_.DockerImageCode.from_image_asset(
                str(locks.LAMBDA_IMAGE_DIR),
                build_args={dockerfile.VERSION_ARGUMENT: self._version},
                # The build reads the Dockerfile and this version's lock, and nothing else of the
                # directory (a Python package too), so that only they make the asset's hash.
                exclude=["*", "!Dockerfile", f"!locks/{self._version}.txt"],
            )
        self.repository = ecr.Repository(
            scope,
            "Repository",
            image_scan_on_push=True,
            empty_on_delete=True,
            removal_policy=RemovalPolicy.DESTROY,
            # Lifecycle rules: the image build adds them, as it knows which images must stay.
        )
        recipe = (
            dockerfile.copy_recipe_dockerfile(code.image_uri)
            if code.source is FunctionCodeSource.COPY_OF_IMAGE and code.image_uri is not None
            else dockerfile.build_recipe_dockerfile(self._version)
        )
        self.image_build = ApiImageBuild(
            scope,
            "ImageBuild",
            recipe=recipe,
            recipe_version=self._version,
            repository=self.repository,
            conventions=self._conventions,
            vpc_id=code.network.vpc_id if code.network else None,
            subnet_id=code.network.subnet_id if code.network else None,
        )
        # <repository URI>:<tag>; the tag is <recipe version>-<build number>.
        tag = Fn.select(1, Fn.split(":", self.image_build.image_uri))
        return lambda_.DockerImageCode.from_ecr(self.repository, tag_or_digest=tag)

    def _create_role(
        self, region: str, role: FunctionRole, permissions_boundary: iam.IManagedPolicy | None
    ) -> iam.Role:
        """The function's role, with the ParallelCluster permissions as managed policies."""
        scope, iam_name = self._scope, self._conventions.iam_name
        created = ManagedPolicyRole(
            scope,
            "FunctionRole",
            role_name=iam_name("ParallelClusterLambdaRole"),
            policy_name=iam_name("ParallelClusterLambdaRuntimePolicy"),
            description="Runs the ParallelCluster API function",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        where = permissions.PermissionScope(region)
        boundary_arn = permissions_boundary.managed_policy_arn if permissions_boundary else None
        policies = {
            "ParallelClusterClusterPolicy1": (
                "Cluster operations: EC2, DynamoDB, Route 53, CloudFormation, CloudWatch",
                permissions.cluster_statements_ec2_and_stacks(where),
            ),
            "ParallelClusterClusterPolicy2": (
                "Cluster operations: IAM reads and pass role, Lambda, S3, FSx, EFS, logs, login nodes",
                permissions.cluster_statements_iam_and_storage(where),
            ),
            "ParallelClusterImageManagedPolicy": (
                "Image operations: build, delete, list and describe custom images",
                permissions.image_statements(where),
            ),
            "ParallelClusterLogRetrievalPolicy": (
                "Reading and exporting cluster and image logs",
                permissions.log_retrieval_statements(where),
            ),
        }
        # With a boundary alone, the function may still create the roles of clusters and images
        # that carry the boundary (ParallelCluster's PermissionsBoundary mode), as the official
        # policies grant.
        if role.enable_iam_admin_access or boundary_arn:
            policies["DefaultParallelClusterIamAdminPolicy"] = (
                "IAM admin access: roles and instance profiles under parallelcluster/",
                permissions.iam_admin_statements(where, boundary_arn),
            )
        if role.fsx_s3_access is not None:
            policies["ParallelClusterFSxS3AccessPolicy"] = (
                "FSx for Lustre data repositories in S3",
                permissions.fsx_s3_statements(where, role.fsx_s3_access.bucket_arns),
            )
        for name, (description, granted) in policies.items():
            statements = [permission.statement for permission in granted]
            policy = iam.ManagedPolicy(
                scope,
                name,
                managed_policy_name=iam_name(name),
                description=f"ParallelCluster API function - {description}",
                document=iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": statements}),
                roles=[created],
            )
            acknowledge_wildcards(policy, statements, {permission.sid: permission.why for permission in granted})
            if any(action.endswith(":*") for statement in statements for action in statement["Action"]):
                acknowledge(
                    policy,
                    permissions.FULL_ACCESS_REASON,
                    "NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess",
                    "HIPAA.Security-IAMPolicyNoStatementsWithFullAccess",
                )
        # The role's own managed policy (its log group and X-Ray) counts too.
        self._attach_additional_policies(created, role.additional_policies, own_policies=len(policies) + 1)
        return created

    def _attach_additional_policies(
        self, role: iam.Role, policies: tuple[iam.IManagedPolicy, ...], own_policies: int
    ) -> None:
        """Attach the deployer's policies; AWS managed ones are acknowledged as their explicit choice."""
        total = own_policies + len(policies)
        if total > MAX_MANAGED_POLICIES_PER_ROLE:
            raise rules.InvalidSettingError(
                "additional_policies",
                f"at most {MAX_MANAGED_POLICIES_PER_ROLE - own_policies} policies (IAM attaches at most "
                f"{MAX_MANAGED_POLICIES_PER_ROLE} managed policies to a role, {own_policies} of them the API's own)",
                len(policies),
            )
        if total > DEFAULT_MANAGED_POLICIES_QUOTA:
            Annotations.of(self._scope).add_warning_v2(
                "ParallelClusterApi:ManagedPolicyQuota",
                f"The function role gets {total} managed policies; IAM's default quota is "
                f"{DEFAULT_MANAGED_POLICIES_QUOTA} per role: raise it in Service Quotas before deploying.",
            )
        for policy in policies:
            role.add_managed_policy(policy)
            arn_text = nag_text(Stack.of(self._scope), policy.managed_policy_arn)
            if ":iam::aws:policy/" in arn_text:
                acknowledge(
                    role,
                    "This AWS managed policy is attached because the deployer asked for it with "
                    "ParallelClusterFunctionAdditionalPolicies; its scope is their choice.",
                    f"AwsSolutions-IAM4[Policy::{arn_text}]",
                )

    def _acknowledge_findings(self, reserved_concurrent_executions: int | None) -> None:
        acknowledge(
            self.function,
            "API Gateway invokes the function synchronously and returns its errors to the caller, "
            "so a dead-letter queue would never receive an event.",
            "Serverless-LambdaDLQ",
            "NIST.800.53.R5-LambdaDLQ",
            "HIPAA.Security-LambdaDLQ",
        )
        acknowledge(
            self.function,
            "The function calls the public endpoints of many AWS services in any Region; outside a "
            "VPC it needs no NAT gateway or endpoints, and it holds no network-reachable data.",
            "NIST.800.53.R5-LambdaInsideVPC",
            "HIPAA.Security-LambdaInsideVPC",
        )
        if reserved_concurrent_executions is None:
            acknowledge(
                self.function,
                "Reserving concurrency takes it from the account's pool and fails in new accounts "
                "whose limit is 10; the stage's throttling (100 requests/s, burst 10) caps load, "
                "and ReservedConcurrency sets a reservation when wanted.",
                "NIST.800.53.R5-LambdaConcurrency",
                "HIPAA.Security-LambdaConcurrency",
            )
        if isinstance(self.role, ManagedPolicyRole):
            acknowledge(
                self.role.policy,
                "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level "
                "permissions; the policy's other statements name the function's own log group.",
                "AwsSolutions-IAM5[Resource::*]",
            )


def official_layer_s3_key(parallelcluster_version: str) -> str:
    """Where AWS publishes the Lambda layer of a ParallelCluster version, in each Region's bucket."""
    return f"parallelcluster/{parallelcluster_version}/layers/aws-parallelcluster/lambda-layer.zip"


def _repository_and_reference(scope: Construct, image_uri: str) -> tuple[ecr.IRepository, str]:
    """The repository and tag (or digest) of a private ECR image URI."""
    registry, _, path = image_uri.partition("/")
    account, _, _, region, *_ = registry.split(".")
    if "@" in path:
        name, _, digest = path.partition("@")
        reference = digest
    else:
        name, _, reference = path.rpartition(":")
    repository = ecr.Repository.from_repository_attributes(
        scope,
        "ImageRepository",
        repository_name=name,
        repository_arn=f"arn:{Aws.PARTITION}:ecr:{region}:{account}:repository/{name}",
    )
    return repository, reference
