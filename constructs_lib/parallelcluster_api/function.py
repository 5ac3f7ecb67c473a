"""The API function: its code (an image built, copied or given, or the official layer), role and logs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Annotations, Aws, CfnDeletionPolicy, Duration, Fn, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from constructs_lib import validation as forms
from constructs_lib import versions
from constructs_lib.api_image import dockerfile, locks
from constructs_lib.api_image.image_build import ApiImageBuild, BuildNetworkChoice
from constructs_lib.audit import acknowledge, acknowledge_wildcards, nag_text
from constructs_lib.flags import Flag
from constructs_lib.l1 import l1
from constructs_lib.managed_policy_role import ManagedPolicyRole
from constructs_lib.parallelcluster_api import function_permissions as permissions
from constructs_lib.parallelcluster_api.plan import Plan

# The official OpenAPI spec refers to this logical id from its integrations
# (`${ParallelClusterFunction.Arn}`); AWS::Include resolves it against this template.
FUNCTION_LOGICAL_ID = "ParallelClusterFunction"
# AWS's template's logical ids for the function's log group and its layer.
LOG_GROUP_LOGICAL_ID = "ParallelClusterFunctionLogGroup"
LAYER_LOGICAL_ID = "PclusterLayer"
RESOURCE_TAG = "parallelcluster:resource"
# The function's entry point in aws-parallelcluster[awslambda], in the image and in the layer.
API_HANDLER = "pcluster.api.awslambda.entrypoint.lambda_handler"
# The runtime AWS's own API template gives the function with the official layer (3.6 and later).
LAYER_RUNTIME = lambda_.Runtime.PYTHON_3_12
# With the layer the code is all in the layer; Lambda needs a non-empty package all the same.
LAYER_PACKAGE_SOURCE = " "
# Managed policies attached to one IAM role: 10 by default, at most 20 (IAM quotas documentation).
DEFAULT_MANAGED_POLICIES_QUOTA = 10
MAX_MANAGED_POLICIES_PER_ROLE = 20
# The function's policy for AWS Batch clusters, for the releases that have the scheduler.
AWSBATCH_POLICY = "ParallelClusterClusterPolicyBatch"


class ApiFunctionBuilder:
    """``ParallelClusterFunction``, its role, its log group, and where its code comes from.

    Not a construct of its own: it adds its resources to the API construct's scope, where the
    deployed stacks have them (construct paths make the logical ids). Attributes: ``function``,
    ``role``, ``log_group``, ``repository`` and ``image_build`` (image built in the account),
    ``layer`` (official layer).

    Built from a :class:`Plan`. Where a choice is decided at deploy time (the portable template),
    the resources of each option carry its condition and the function's properties pick between
    the options.
    """

    def __init__(self, scope: Construct, plan: Plan) -> None:
        self._scope = scope
        self._plan = plan
        self._version = plan.parallelcluster_version
        code, role = plan.code, plan.role
        self.repository: ecr.Repository | None = None
        self.image_build: ApiImageBuild | None = None
        self.layer: lambda_.LayerVersion | None = None

        created = self._create_role() if role.creates.possible else None
        self.role: iam.IRole = created if created is not None else _given(role.existing)

        common: dict[str, Any] = dict(
            description=f"Runs the AWS ParallelCluster {self._version} API",
            role=self.role,
            memory_size=2048,
            timeout=Duration.seconds(30),
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=plan.reserves_concurrency.optional(plan.reserved_concurrent_executions),
        )
        if code.uses_layer.possible:
            self.layer = self._official_layer()
        image_uri: str | None = None
        if code.uses_image.possible:
            image_code, image_uri = self._image_code()
            self.function: lambda_.Function = lambda_.DockerImageFunction(scope, "Function", code=image_code, **common)
        else:
            assert self.layer is not None
            self.function = lambda_.Function(
                scope,
                "Function",
                runtime=LAYER_RUNTIME,
                handler=API_HANDLER,
                code=lambda_.Code.from_inline(LAYER_PACKAGE_SOURCE),
                layers=[self.layer],
                **common,
            )
        cfn_function = l1(self.function, lambda_.CfnFunction)
        cfn_function.override_logical_id(FUNCTION_LOGICAL_ID)
        # Where the template decides at deploy time, what the L2 props above cannot say: the code
        # (PackageType is create-only, so no token reaches the L2 choice between image and zip),
        # and the role (the deployer's, else the one created here, whose grants CDK makes).
        if image_uri is not None and not (code.uses_ecr_image.known and code.uses_layer.known):
            self._choose_code(cfn_function, image_uri)
        #: What the API's stages wait for: the role's own policy (logs, X-Ray), which the function does not.
        self.permissions: list[IConstruct] = [created.policy] if created is not None else []
        if created is not None and role.uses_existing.possible:
            cfn_function.role = Token.as_string(role.uses_existing.pick(_given(role.existing).role_arn, created.role_arn))
            role.creates.guard(created, *self.permissions)
        self.log_group = self._log_group(created)
        if code.uses_layer.possible:
            acknowledge(
                self.function,
                "The official ParallelCluster layer is built for python3.12 (its compiled dependencies "
                "are CPython 3.12 wheels), which Lambda supports until October 2028.",
                "AwsSolutions-L1",
                "Serverless-LambdaLatestVersion",
            )
        self._acknowledge_findings()
        Tags.of(self.function).add(RESOURCE_TAG, "api")
        if self.image_build is not None:
            assert self.repository is not None
            self.image_build.keep_function_current(self.function)
            code.builds_in_account.guard(self.repository, self.image_build)

    def _log_group(self, created: ManagedPolicyRole | None) -> logs.LogGroup:
        """The function's log group, named and kept as AWS's template has it.

        The function has no name of ours and logs where Lambda sends it by default,
        ``/aws/lambda/<function name>`` (as AWS's template does): so a stack that moves from AWS's
        template keeps its function and its logs. Lambda replaces a function whose package type
        changes (PackageType is create-only), which renames it and therefore replaces this group
        too; the replaced group stays, outside the stack, with its logs until they expire.
        """
        # CDK makes that group for a function without one where @aws-cdk/aws-lambda:useCdkManagedLogGroup
        # is on (this app's cdk.json); elsewhere the construct makes it.
        made_by_cdk = self.function.node.try_find_child("LogGroup")
        if isinstance(made_by_cdk, logs.LogGroup):
            log_group = self._plan.conventions.configure_log_group(made_by_cdk)
        else:
            log_group = self._plan.conventions.log_group(
                self._scope, "FunctionLogGroup", log_group_name=f"/aws/lambda/{self.function.function_name}"
            )
        cfn_log_group = l1(log_group, logs.CfnLogGroup)
        cfn_log_group.override_logical_id(LOG_GROUP_LOGICAL_ID)
        cfn_log_group.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        if created is not None:
            # The grant goes to the role's policy, which the function does not wait for (the
            # group's name is the function's): the API's stages wait for it instead.
            log_group.grant_write(created)
        return log_group

    def _choose_code(self, function: lambda_.CfnFunction, image_uri: str) -> None:
        """The image the plan picks at deploy time, or the official layer when it picks that."""
        uses_layer = self._plan.code.uses_layer
        if not uses_layer.possible:
            function.add_property_override("Code.ImageUri", image_uri)
            return
        assert self.layer is not None
        function.add_property_override("PackageType", uses_layer.pick(Aws.NO_VALUE, "Image"))
        function.add_property_override("Code", uses_layer.pick({"ZipFile": LAYER_PACKAGE_SOURCE}, {"ImageUri": image_uri}))
        function.add_property_override("Runtime", uses_layer.pick(LAYER_RUNTIME.name))
        function.add_property_override("Handler", uses_layer.pick(API_HANDLER))
        function.add_property_override("Layers", uses_layer.pick([self.layer.layer_version_arn]))

    def _official_layer(self) -> lambda_.LayerVersion:
        """AWS's own ParallelCluster layer of this version, from the deployment Region's bucket.

        Named and found as AWS's template has it (its logical id, its name, the key in the bucket,
        or in the plan's other bucket: AWS's template's CustomBucket). CloudFormation copies the
        layer archive when it creates the layer version, so the function keeps working whatever
        happens to the bucket later.
        """
        code = self._plan.code
        bucket_name = Token.as_string(code.uses_custom_bucket.pick(code.layer_bucket, f"{Aws.REGION}-aws-parallelcluster"))
        bucket = s3.Bucket.from_bucket_name(self._scope, "ParallelClusterBucket", bucket_name)
        Annotations.of(bucket).acknowledge_warning(
            "@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified",
            "The key names the ParallelCluster version and AWS publishes one layer per version: "
            "another version is another key, which makes a new layer version.",
        )
        layer = lambda_.LayerVersion(
            self._scope,
            "Layer",
            code=lambda_.Code.from_bucket(bucket, official_layer_s3_key(self._version)),
            compatible_runtimes=[LAYER_RUNTIME],
            description=f"aws-parallelcluster {self._version} and its dependencies (official layer)",
            layer_version_name=Fn.join("", ["PCLayer-", self._plan.conventions.stack_uuid]),
        )
        l1(layer, lambda_.CfnLayerVersion).override_logical_id(LAYER_LOGICAL_ID)
        code.uses_layer.guard(layer)
        return layer

    def _image_code(self) -> tuple[lambda_.DockerImageCode, str | None]:
        """The function's image, and its URI as the template holds it (``None`` for a local build).

        Given, built with the deployer's Docker as an asset, or made in the account; where the
        plan decides at deploy time between a given image and one made in the account, the URI
        picks one and the code is the one made in the account.
        """
        code = self._plan.code
        if code.local_docker:
            asset = lambda_.DockerImageCode.from_image_asset(
                str(locks.LAMBDA_IMAGE_DIR),
                build_args={dockerfile.VERSION_ARGUMENT: self._version},
                # The build reads the Dockerfile and this version's lock, and nothing else of the
                # directory (a Python package too), so that only they make the asset's hash.
                exclude=["*", "!Dockerfile", f"!locks/{self._version}.txt"],
            )
            return asset, None
        if not code.builds_in_account.possible:
            repository, reference = _repository_and_reference(self._scope, code.ecr_image_uri)
            uri = repository.repository_uri_for_tag_or_digest(reference)
            return lambda_.DockerImageCode.from_ecr(repository, tag_or_digest=reference), uri
        repository, tag = self._build_in_account()
        built = repository.repository_uri_for_tag(tag)
        uri = Token.as_string(code.uses_ecr_image.pick(code.ecr_image_uri, built))
        return lambda_.DockerImageCode.from_ecr(repository, tag_or_digest=tag), uri

    def _build_in_account(self) -> tuple[ecr.Repository, str]:
        """EC2 Image Builder builds (or copies) the image into a repository of the stack; its tag."""
        scope, code = self._scope, self._plan.code
        self.repository = ecr.Repository(
            scope,
            "Repository",
            image_scan_on_push=True,
            empty_on_delete=True,
            removal_policy=RemovalPolicy.DESTROY,
            # Lifecycle rules: the image build adds them, as it knows which images must stay.
        )
        build = dockerfile.build_recipe_dockerfile(self._version)
        if code.copies_image.certain:
            recipe = dockerfile.copy_recipe_dockerfile(code.copy_image_uri)
        elif code.copies_image.possible:
            recipe = dockerfile.RecipeDockerfile.choice(
                code.copies_image, dockerfile.copy_recipe_dockerfile(code.copy_image_uri), build
            )
        else:
            recipe = build
        self.image_build = ApiImageBuild(
            scope,
            "ImageBuild",
            recipe=recipe,
            recipe_version=self._version,
            repository=self.repository,
            conventions=self._plan.conventions,
            network=BuildNetworkChoice(code.has_build_network, code.vpc_id, code.subnet_id),
        )
        # <repository URI>:<tag>; the tag is <recipe version>-<build number>.
        tag = Fn.select(1, Fn.split(":", self.image_build.image_uri))
        return self.repository, tag

    def _create_role(self) -> ManagedPolicyRole:
        """The function's role, with the ParallelCluster permissions as managed policies."""
        scope, plan, iam_name = self._scope, self._plan, self._plan.conventions.iam_name
        role = plan.role
        created = ManagedPolicyRole(
            scope,
            "FunctionRole",
            role_name=iam_name("ParallelClusterLambdaRole"),
            policy_name=iam_name("ParallelClusterLambdaRuntimePolicy"),
            description="Runs the ParallelCluster API function",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            # Its policy names the function's log group, which is named after the function.
            policy_scope=scope,
        )
        policies = function_policies(plan)
        for name, (wanted, description, granted) in policies.items():
            statements = [permission.statement for permission in granted]
            policy = iam.ManagedPolicy(
                scope,
                name,
                managed_policy_name=iam_name(name),
                description=f"ParallelCluster API function - {description}",
                document=iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": statements}),
                roles=[created],
            )
            if any(permission.choice is not None for permission in granted):
                l1(policy, iam.CfnManagedPolicy).add_property_override(
                    "PolicyDocument.Statement", _chosen_statements(scope, granted)
                )
            if not wanted.known:
                wanted.guard(policy)
            acknowledge_wildcards(policy, statements, {permission.sid: permission.why for permission in granted})
            if any(action.endswith(":*") for statement in statements for action in statement["Action"]):
                acknowledge(
                    policy,
                    permissions.AWSBATCH_FULL_ACCESS_REASON if name == AWSBATCH_POLICY else permissions.FULL_ACCESS_REASON,
                    "NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess",
                    "HIPAA.Security-IAMPolicyNoStatementsWithFullAccess",
                )
        if role.has_additional_policies.known:
            self._attach_additional_policies(created, role.additional_policies, own_policies=len(policies) + 1)
        elif role.has_additional_policies.possible:
            arns = Fn.split(",", role.additional_policy_arns)
            l1(created, iam.CfnRole).add_property_override(
                "ManagedPolicyArns", role.has_additional_policies.pick(arns)
            )
        return created

    def _attach_additional_policies(
        self, role: iam.Role, policies: Sequence[iam.IManagedPolicy], own_policies: int
    ) -> None:
        """Attach the deployer's policies (counted by :func:`check_additional_policies`); AWS managed
        ones are acknowledged as their explicit choice."""
        total = own_policies + len(policies)
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

    def _acknowledge_findings(self) -> None:
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
        if not self._plan.reserves_concurrency.certain:
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


def function_policies(plan: Plan) -> dict[str, tuple[Flag, str, list[permissions.Permission]]]:
    """The managed policies of the function's role: name → (wanted, description, statements)."""
    role, where = plan.role, plan.permissions
    release = versions.release(plan.parallelcluster_version)
    # With a boundary alone, the function may still create the roles of clusters and images
    # that carry the boundary (ParallelCluster's PermissionsBoundary mode), as the official
    # policies grant.
    iam_admin = role.iam_admin | plan.has_boundary
    policies: dict[str, tuple[Flag, str, list[permissions.Permission]]] = {
        "ParallelClusterClusterPolicy1": (
            role.creates,
            "Cluster operations: EC2, DynamoDB, Route 53, CloudFormation, CloudWatch",
            permissions.cluster_statements_ec2_and_stacks(where),
        ),
        "ParallelClusterClusterPolicy2": (
            role.creates,
            "Cluster operations: IAM reads and pass role, Lambda, S3, FSx, EFS, logs, login nodes",
            permissions.cluster_statements_iam_and_storage(where),
        ),
        "ParallelClusterImageManagedPolicy": (
            role.creates,
            "Image operations: build, delete, list and describe custom images",
            permissions.image_statements(where),
        ),
        "ParallelClusterLogRetrievalPolicy": (
            role.creates,
            "Reading and exporting cluster and image logs",
            permissions.log_retrieval_statements(where),
        ),
    }
    if release.awsbatch:
        policies[AWSBATCH_POLICY] = (
            role.creates,
            "Clusters with the AWS Batch scheduler",
            permissions.awsbatch_statements(where),
        )
    if iam_admin.possible:
        policies["DefaultParallelClusterIamAdminPolicy"] = (
            role.creates & iam_admin,
            "IAM admin access: roles and instance profiles under parallelcluster/",
            permissions.iam_admin_statements(where, release, plan.boundary_arn, plan.has_boundary),
        )
    if role.fsx.possible:
        policies["ParallelClusterFSxS3AccessPolicy"] = (
            role.creates & role.fsx,
            "FSx for Lustre data repositories in S3",
            permissions.fsx_s3_statements(where, role.fsx_bucket_arns, role.fsx_all_buckets),
        )
    return policies


def check_additional_policies(plan: Plan) -> None:
    """Refuse more additional policies than IAM attaches to one role, beside the API's own."""
    role = plan.role
    if not (role.creates.possible and role.has_additional_policies.known):
        return
    # The role's own managed policy (its log group and X-Ray) counts too.
    own = len(function_policies(plan)) + 1
    if own + len(role.additional_policies) > MAX_MANAGED_POLICIES_PER_ROLE:
        raise forms.InvalidSettingError(
            "additional_policies",
            f"at most {MAX_MANAGED_POLICIES_PER_ROLE - own} policies (IAM attaches at most "
            f"{MAX_MANAGED_POLICIES_PER_ROLE} managed policies to a role, {own} of them the API's own)",
            len(role.additional_policies),
        )


def _chosen_statements(scope: Construct, granted: Sequence[permissions.Permission]) -> list[Any]:
    """The policy's statements where a deploy-time choice picks some: ``Fn::If`` between two forms.

    Each statement is written as CDK writes a policy's statements (its own form, with actions and
    resources sorted), so that every choice gives the statements the CDK app gives.
    """

    def rendered(statement: permissions.Statement) -> Any:
        document = iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": [statement]})
        (written,) = Stack.of(scope).resolve(document)["Statement"]
        return written

    return [
        rendered(permission.statement)
        if permission.choice is None
        else permission.choice[0].pick(rendered(permission.statement), rendered(permission.choice[1]))
        for permission in granted
    ]


def _given(role: iam.IRole | None) -> iam.IRole:
    if role is None:
        raise ValueError("the plan uses the deployer's function role but names none")
    return role


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
