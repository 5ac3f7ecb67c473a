"""The ParallelCluster API: a SigV4-authenticated REST API in front of a container-image Lambda."""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence, Union

from aws_cdk import ArnFormat, Aws, CfnParameter, Duration, Fn, Names, RemovalPolicy, Stack, Tags, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from constructs_lib import validation as rules
from constructs_lib.api_logging import ApiGatewayAccountRole
from constructs_lib.audit import acknowledge, acknowledge_wildcards, nag_text
from constructs_lib.api_image import dockerfile
from constructs_lib.api_image.image_build import ApiImageBuild
from constructs_lib.managed_policy_role import ManagedPolicyRole
from constructs_lib.parallelcluster_api import function_permissions as permissions

# The official OpenAPI spec refers to these two logical ids from its integrations
# (`${ParallelClusterFunction.Arn}`, `${APIGatewayExecutionRole.Arn}`); AWS::Include resolves them
# against this template, so they are fixed, and one stack holds at most one API.
FUNCTION_LOGICAL_ID = "ParallelClusterFunction"
EXECUTION_ROLE_LOGICAL_ID = "APIGatewayExecutionRole"
STAGE_NAME = "prod"
VERSION_TAG = "parallelcluster:version"
RESOURCE_TAG = "parallelcluster:resource"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# One JSON object per request in the access log (API Gateway $context variables).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "userArn": "$context.identity.userArn",
    "userAgent": "$context.identity.userAgent",
    "vpceId": "$context.identity.vpceId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorMessage": "$context.error.message",
    "wafResponseCode": "$context.wafResponseCode",
}


class ParallelClusterApi(Construct):
    """The AWS ParallelCluster API, as the official CloudFormation template deploys it.

    A REST API (regional endpoint, stage ``prod``) whose body is the official OpenAPI spec, pulled
    in with ``AWS::Include``; every request must be SigV4-signed, and a resource policy admits only
    the API user role. Behind it, the ``ParallelClusterFunction`` container-image Lambda runs
    ParallelCluster with the permissions the official policies give it.

    Only one ``ParallelClusterApi`` fits in a stack (the spec pins two logical ids); put each
    further one in its own stack or ``NestedStack``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parallelcluster_version: str = rules.DEFAULT_PARALLELCLUSTER_VERSION,
        region: str = rules.ALL_REGIONS,
        api_definition_s3_uri: Optional[str] = None,
        parallelcluster_function_role: Union[str, iam.IRole, None] = None,
        ecr_image_uri: Optional[str] = None,
        create_api_user_role: bool = True,
        enable_iam_admin_access: bool = False,
        permissions_boundary_policy: Union[str, iam.IManagedPolicy, None] = None,
        enable_fsx_s3_access: bool = False,
        fsx_s3_buckets: Sequence[str] = (),
        iam_role_and_policy_prefix: str = "",
        custom_domain_name: Optional[str] = None,
        custom_domain_certificate: Union[str, acm.ICertificate, None] = None,
        custom_domain_hosted_zone_id: Optional[str] = None,
        vpc_endpoint_id: Optional[str] = None,
        public_ecr_image_uri: Optional[str] = None,
        image_builder_vpc_id: Optional[str] = None,
        image_builder_subnet_id: Optional[str] = None,
        lambda_image_source: str = rules.IMAGE_BUILDER,
        allowed_principal_arns: Sequence[str] = (),
        api_gateway_account_role: str = rules.ENSURE,
        web_acl_arn: Optional[str] = None,
        logs_kms_key: Union[str, kms.IKey, None] = None,
        reserved_concurrent_executions: Optional[int] = None,
    ) -> None:
        """Create the API.

        :param parallelcluster_version: ParallelCluster version the API serves (``X.Y.Z``); it
            selects the default spec, tags every resource and names the function's image tag.
        :param region: ``*`` to let the API manage ParallelCluster resources in every Region, or
            one Region name to limit the function's permissions to that Region.
        :param api_definition_s3_uri: S3 URI of the OpenAPI spec. Default: the official spec of
            ``parallelcluster_version`` in the deployment Region's ParallelCluster bucket.
        :param parallelcluster_function_role: Role (ARN or ``IRole``) the function runs as,
            trusted by Lambda. When given, the construct creates no ParallelCluster policy.
        :param ecr_image_uri: Image the function runs. Default: the ``parallelcluster_version``
            tag of a private ECR repository that this construct creates.
        :param create_api_user_role: Create the role that may invoke the API; the resource
            policy then denies every other principal.
        :param enable_iam_admin_access: Let the function create and manage the IAM roles and
            instance profiles ParallelCluster needs (under ``parallelcluster/``). Grants IAM
            admin privileges to the function.
        :param permissions_boundary_policy: Managed policy (ARN or ``IManagedPolicy``) set as
            permissions boundary on every role this construct creates; with IAM admin access, the
            function may only create roles and put or attach policies with that boundary.
        :param enable_fsx_s3_access: Let the function read, list and write the buckets of
            ``fsx_s3_buckets`` (FSx for Lustre data repositories).
        :param fsx_s3_buckets: S3 bucket ARNs, or ``["*"]`` for every bucket.
        :param iam_role_and_policy_prefix: Prefix (at most 10 characters) of every IAM role and
            policy name this construct creates.
        :param custom_domain_name: Custom domain of the API (a regional API Gateway domain name
            with TLS 1.2, mapped to the ``prod`` stage); needs ``custom_domain_certificate``.
        :param custom_domain_certificate: ACM certificate (ARN or ``ICertificate``) of the custom
            domain, in the stack's Region.
        :param custom_domain_hosted_zone_id: Route 53 hosted zone in which to create the alias
            record of the custom domain. Without it, point your DNS at ``domain_target``.
        :param vpc_endpoint_id: ``execute-api`` interface VPC endpoint: the API becomes private,
            reachable only through that endpoint.
        :param public_ecr_image_uri: Existing image to copy into the private repository instead
            of building the function's image from ``lambda_image/``.
        :param image_builder_vpc_id: VPC of the image build instance (with
            ``image_builder_subnet_id``), for accounts without a default VPC.
        :param image_builder_subnet_id: Subnet, with internet access, of the image build instance.
        :param lambda_image_source: Where the function's image comes from when neither
            ``ecr_image_uri`` nor ``public_ecr_image_uri`` is given: ``imagebuilder`` builds
            ``lambda_image/`` in the account with EC2 Image Builder; ``asset`` builds it with the
            deployer's Docker as a CDK image asset.
        :param allowed_principal_arns: ARNs of further IAM roles allowed to invoke the API: the
            resource policy allows them (same as :meth:`grant_invoke` for roles of other stacks).
        :param api_gateway_account_role: The API logs to CloudWatch (access and execution logs),
            which needs the CloudWatch role of the account's API Gateway settings, shared by every
            API of the account and Region. ``ensure``: keep the account's role when it has one,
            else set a role this construct creates (and unset it when deleted, if still ours).
            ``existing``: the account's role is managed elsewhere; leave account settings alone.
            ``none``: no CloudWatch logging of API requests.
        :param web_acl_arn: ARN of an AWS WAF (v2, regional) web ACL to associate with the stage.
        :param logs_kms_key: KMS key (ARN or ``IKey``) that encrypts every log group of this
            construct; its key policy must let CloudWatch Logs use it. Default: CloudWatch Logs'
            own encryption.
        :param reserved_concurrent_executions: Concurrency reserved for (and capping) the API
            function. Default: none, the account's unreserved pool.
        """
        super().__init__(scope, construct_id)
        self._refuse_second_api_in_stack()
        self.parallelcluster_version = rules.VERSION.check(
            "parallelcluster_version", parallelcluster_version
        )
        self.region = rules.check_region("region", region)
        self._prefix = rules.IAM_PREFIX.check("iam_role_and_policy_prefix", iam_role_and_policy_prefix)
        rules.check_optional("api_definition_s3_uri", api_definition_s3_uri, rules.S3_URI)
        rules.check_optional("ecr_image_uri", ecr_image_uri, rules.ECR_IMAGE_URI)
        rules.check_optional("custom_domain_name", custom_domain_name, rules.DOMAIN_NAME)
        rules.check_optional(
            "custom_domain_hosted_zone_id", custom_domain_hosted_zone_id, rules.HOSTED_ZONE_ID
        )
        rules.check_optional("vpc_endpoint_id", vpc_endpoint_id, rules.VPC_ENDPOINT_ID)
        fsx_s3_buckets = rules.check_bucket_arns("fsx_s3_buckets", tuple(fsx_s3_buckets))
        rules.check_combinations(
            dict(
                parallelcluster_function_role=parallelcluster_function_role,
                ecr_image_uri=ecr_image_uri,
                enable_iam_admin_access=enable_iam_admin_access,
                enable_fsx_s3_access=enable_fsx_s3_access,
                fsx_s3_buckets=fsx_s3_buckets,
                custom_domain_name=custom_domain_name,
                custom_domain_certificate=custom_domain_certificate,
                custom_domain_hosted_zone_id=custom_domain_hosted_zone_id,
                vpc_endpoint_id=vpc_endpoint_id,
                public_ecr_image_uri=public_ecr_image_uri,
                image_builder_vpc_id=image_builder_vpc_id,
                image_builder_subnet_id=image_builder_subnet_id,
                lambda_image_source=lambda_image_source,
            )
        )
        rules.check_optional("public_ecr_image_uri", public_ecr_image_uri, rules.CONTAINER_IMAGE_URI)
        rules.check_optional("image_builder_vpc_id", image_builder_vpc_id, rules.VPC_ID)
        rules.check_optional("image_builder_subnet_id", image_builder_subnet_id, rules.SUBNET_ID)
        rules.LAMBDA_IMAGE_SOURCE.check("lambda_image_source", lambda_image_source)
        rules.ACCOUNT_ROLE.check("api_gateway_account_role", api_gateway_account_role)
        rules.check_optional("web_acl_arn", web_acl_arn, rules.WEB_ACL_ARN)
        for principal_arn in allowed_principal_arns:
            rules.IAM_ROLE_ARN.check("allowed_principal_arns", principal_arn)
        if isinstance(logs_kms_key, str):
            rules.KMS_KEY_ARN.check("logs_kms_key", logs_kms_key)
            logs_kms_key = kms.Key.from_key_arn(self, "LogsKey", logs_kms_key)
        self._logs_kms_key = logs_kms_key
        if reserved_concurrent_executions is not None and reserved_concurrent_executions < 1:
            raise rules.InvalidSettingError(
                "reserved_concurrent_executions", "a positive number of executions", reserved_concurrent_executions
            )

        boundary = self._managed_policy("permissions_boundary_policy", permissions_boundary_policy)
        if boundary is not None:
            iam.PermissionsBoundary.of(self).apply(boundary)
        stack_uuid = Fn.select(2, Fn.split("/", Stack.of(self).stack_id))
        self._stack_id_suffix = Fn.select(0, Fn.split("-", stack_uuid))

        # A name of our choosing lets the log group exist, with its retention, before the function
        # can write to it; otherwise Lambda would create /aws/lambda/<name> itself, kept forever.
        function_name = f"ParallelClusterFunction-{stack_uuid}"
        self.log_group = self.new_log_group(self, "FunctionLogGroup", log_group_name=f"/aws/lambda/{function_name}")
        if parallelcluster_function_role is None:
            self.function_role: iam.IRole = self._create_function_role(
                permissions.PermissionScope(self.region),
                enable_iam_admin_access=enable_iam_admin_access,
                permissions_boundary_arn=boundary.managed_policy_arn if boundary else None,
                fsx_s3_buckets=fsx_s3_buckets if enable_fsx_s3_access else (),
            )
            self.log_group.grant_write(self.function_role)
        else:
            self.function_role = self._imported_role(parallelcluster_function_role)

        self.repository: Optional[ecr.Repository] = None
        self.image_build: Optional[ApiImageBuild] = None
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=self._image_code(
                ecr_image_uri=ecr_image_uri,
                public_ecr_image_uri=public_ecr_image_uri,
                lambda_image_source=lambda_image_source,
                vpc_id=image_builder_vpc_id,
                subnet_id=image_builder_subnet_id,
            ),
            function_name=function_name,
            role=self.function_role,
            memory_size=2048,
            timeout=Duration.seconds(30),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrent_executions,
        )
        self.function.node.default_child.override_logical_id(FUNCTION_LOGICAL_ID)
        self._acknowledge_function_findings(reserved_concurrent_executions)
        Tags.of(self.function).add(RESOURCE_TAG, "api")
        if self.image_build is not None:
            self.image_build.keep_function_current(self.function)

        self.execution_role = ManagedPolicyRole(
            self,
            "ExecutionRole",
            role_name=self._iam_name("APIGatewayExecutionRole"),
            policy_name=self._iam_name("APIGatewayExecutionPolicy"),
            description="Lets API Gateway invoke the ParallelCluster API function",
            # API Gateway's principal is apigateway.amazonaws.com in every partition, China included.
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        )
        self.execution_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.execution_role.node.default_child.override_logical_id(EXECUTION_ROLE_LOGICAL_ID)

        self.api_user_role: Optional[iam.Role] = None
        self._denied_unless_principal_arns: list[str] = []
        self._allowed_principal_arns = list(allowed_principal_arns)
        if create_api_user_role:
            # Named from the stack id so that the resource policy can name it without
            # referencing the role (the role's policy already references the API).
            user_role_name = Fn.join("", [f"{self._prefix}PCAPIUserRole-", stack_uuid])
            self.api_user_role = ManagedPolicyRole(
                self,
                "ApiUserRole",
                role_name=user_role_name,
                policy_name=self._iam_name("ParallelClusterApiInvokePolicy"),
                description="May invoke the ParallelCluster API",
                assumed_by=iam.AccountRootPrincipal(),
            )
            self._denied_unless_principal_arns.append(
                f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{user_role_name}"
            )
            self._denied_unless_principal_arns += self._allowed_principal_arns

        self.access_log_group: Optional[logs.LogGroup] = None
        self._vpc_endpoint_id = vpc_endpoint_id
        self.rest_api = self._create_rest_api(
            self._api_definition_location(api_definition_s3_uri),
            vpc_endpoint_id,
            api_gateway_account_role,
        )
        #: ``execute-api`` ARN of every stage, method and path of this API.
        self.invoke_arn = self.rest_api.arn_for_execute_api("*", "/*", "*")
        self._apply_resource_policy()
        if self.api_user_role is not None:
            self.grant_invoke(self.api_user_role, admit=False)
            self.acknowledge_invoke_grant(
                self.api_user_role,
                "The user role may call every method and path of this one API, as in the official "
                "template; narrower grants are the account administrator's choice (README).",
            )
        if web_acl_arn is not None:
            wafv2.CfnWebACLAssociation(
                self, "WebAcl", resource_arn=self.rest_api.deployment_stage.stage_arn, web_acl_arn=web_acl_arn
            )
        else:
            acknowledge(
                self.rest_api.deployment_stage,
                "Every request is SigV4-authenticated and limited by the resource policy; a WAF web "
                "ACL is optional (WebAclArn) because its rules are the account's own choice.",
                "AwsSolutions-APIG3",
                "NIST.800.53.R5-APIGWAssociatedWithWAF",
            )

        host = self.rest_api.rest_api_id
        if vpc_endpoint_id is not None:
            # Private APIs answer on <api id>-<vpce id> host names through the endpoint.
            host = f"{host}-{vpc_endpoint_id}"
        self.invoke_url = f"https://{host}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE_NAME}"
        self.domain: Optional[apigateway.DomainName] = None
        self.domain_target: Optional[str] = None
        if custom_domain_name is not None:
            self.domain = self._create_custom_domain(
                custom_domain_name, custom_domain_certificate, custom_domain_hosted_zone_id
            )
            self.invoke_url = f"https://{custom_domain_name}"
            if custom_domain_hosted_zone_id is None:
                self.domain_target = self.domain.domain_name_alias_domain_name
        Tags.of(self).add(VERSION_TAG, self.parallelcluster_version)

    def _image_code(
        self,
        *,
        ecr_image_uri: Optional[str],
        public_ecr_image_uri: Optional[str],
        lambda_image_source: str,
        vpc_id: Optional[str],
        subnet_id: Optional[str],
    ) -> lambda_.DockerImageCode:
        """The function's image: given, built locally as an asset, or built in the account."""
        if ecr_image_uri is not None:
            repository, reference = _repository_and_reference(self, ecr_image_uri)
            return lambda_.DockerImageCode.from_ecr(repository, tag_or_digest=reference)
        if public_ecr_image_uri is None and lambda_image_source == rules.ASSET:
            return lambda_.DockerImageCode.from_image_asset(
                str(dockerfile.LAMBDA_IMAGE_DIR),
                build_args={dockerfile.VERSION_ARGUMENT: self.parallelcluster_version},
                # The directory is also a Python package (its files ship with the library).
                exclude=["__init__.py", "__pycache__"],
            )
        self.repository = ecr.Repository(
            self,
            "Repository",
            image_scan_on_push=True,
            empty_on_delete=True,
            removal_policy=RemovalPolicy.DESTROY,
            # Lifecycle rules: the image build adds them, as it knows which images must stay.
        )
        recipe = (
            dockerfile.copy_recipe_dockerfile(public_ecr_image_uri)
            if public_ecr_image_uri is not None
            else dockerfile.build_recipe_dockerfile(self.parallelcluster_version)
        )
        self.image_build = ApiImageBuild(
            self,
            "ImageBuild",
            recipe=recipe,
            recipe_version=self.parallelcluster_version,
            repository=self.repository,
            iam_name=self._iam_name,
            log_group_factory=self.new_log_group,
            vpc_id=vpc_id,
            subnet_id=subnet_id,
        )
        # <repository URI>:<tag>; the tag is <recipe version>-<build number>.
        tag = Fn.select(1, Fn.split(":", self.image_build.image_uri))
        return lambda_.DockerImageCode.from_ecr(self.repository, tag_or_digest=tag)

    def grant_invoke(self, grantee: iam.IGrantable, *, admit: bool = True) -> iam.Grant:
        """Let ``grantee`` invoke every method of the API.

        Adds ``execute-api:Invoke`` on this API to the grantee's policy and, when the resource
        policy only admits the API user role, admits the grantee's role or user ARN too. Works
        after construction, for grantees in this stack or in the stack that holds this API's
        nested stack. A role of a sibling stack would make the two stacks reference each other
        (a dependency cycle): give its ARN in ``allowed_principal_arns`` instead.
        """
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:Invoke"], resource_arns=[self.invoke_arn]
        )
        if admit and self.api_user_role is not None:
            principal = grantee.grant_principal
            principal_arn = getattr(principal, "role_arn", None) or getattr(principal, "arn", None)
            if principal_arn is None:
                raise ValueError(
                    f"grant_invoke: {principal} has no role or user ARN; the resource policy admits "
                    "principals by ARN (aws:PrincipalArn)"
                )
            self._denied_unless_principal_arns.append(principal_arn)
            self._apply_resource_policy()
        return grant

    def acknowledge_invoke_grant(self, policy: Construct, reason: str) -> None:
        """Acknowledge, on the grantee's ``policy``, the wildcard that :meth:`grant_invoke` adds.

        cdk-nag reports ``execute-api:Invoke`` on every method and path (``.../*/*/*``) as a
        wildcard finding (AwsSolutions-IAM5); this names that finding as cdk-nag writes it from
        the policy's stack: this stack, or the parent of this API's nested stack.
        """
        acknowledge(policy, reason, f"AwsSolutions-IAM5[Resource::{self._invoke_arn_seen_from(Stack.of(policy))}]")

    def _invoke_arn_seen_from(self, stack: Stack) -> str:
        own = Stack.of(self)
        if stack is own:
            return nag_text(own, self.invoke_arn)
        if own.nested_stack_parent is not stack:
            raise ValueError(
                f"{stack.node.path} is neither the stack of {self.node.path} nor its nested stack's parent"
            )
        # The parent reads the API id through the output CDK adds to the nested stack for this
        # reference: <unique id of the referenced resource>Ref.
        rest_api = self.rest_api.node.default_child
        api_id = own.nested_stack_resource.get_att(f"Outputs.{Names.node_unique_id(rest_api.node)}Ref")
        arn = own.format_arn(
            service="execute-api",
            resource=api_id.to_string(),
            resource_name="*/*/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        return nag_text(stack, arn)

    def _acknowledge_function_findings(self, reserved_concurrent_executions: Optional[int]) -> None:
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
        if isinstance(self.function_role, ManagedPolicyRole):
            acknowledge(
                self.function_role.managed_policy,
                "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level "
                "permissions; the policy's other statements name the function's own log group.",
                "AwsSolutions-IAM5[Resource::*]",
            )

    def new_log_group(self, scope: Construct, construct_id: str, **props: Any) -> logs.LogGroup:
        """A log group of this construct: 30 days, deleted with the stack, encrypted when asked."""
        log_group = logs.LogGroup(
            scope,
            construct_id,
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=self._logs_kms_key,
            **props,
        )
        if self._logs_kms_key is None:
            acknowledge(
                log_group,
                "CloudWatch Logs encrypts every log group at rest with its own keys; a customer "
                "managed key is optional (LogsKmsKeyArn) because its key policy is the account's.",
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                "HIPAA.Security-CloudWatchLogGroupEncrypted",
            )
        return log_group

    def _apply_resource_policy(self) -> None:
        """(Re)write the REST API's resource policy from the admitted principals."""
        self.rest_api.node.default_child.policy = self._resource_policy()

    def _resource_policy(self) -> Optional[dict]:
        """Who may invoke the API, on top of the SigV4 authentication the spec requires.

        Deny every principal but the admitted ones: ``aws:PrincipalArn`` is the role's ARN for
        its assumed-role sessions too (IAM global condition keys documentation), so the user
        role's temporary credentials pass. ``allowed_principal_arns`` are allowed outright, so
        that roles of other stacks need no identity policy. A private API needs a policy that
        allows its VPC endpoint and denies every other source (API Gateway private API
        documentation). Without any of these there is no resource policy: IAM policies alone
        decide, as in the official template.
        """
        invoke = {"actions": ["execute-api:Invoke"], "resources": ["execute-api:/*/*/*"]}
        anyone = {"principals": [iam.AnyPrincipal()], **invoke}
        statements = []
        if self._vpc_endpoint_id is not None:
            through_endpoint = {"aws:SourceVpce": self._vpc_endpoint_id}
            statements += [
                iam.PolicyStatement(conditions={"StringEquals": through_endpoint}, **anyone),
                iam.PolicyStatement(effect=iam.Effect.DENY, conditions={"StringNotEquals": through_endpoint}, **anyone),
            ]
        if self._allowed_principal_arns:
            statements.append(
                iam.PolicyStatement(principals=[iam.ArnPrincipal(arn) for arn in self._allowed_principal_arns], **invoke)
            )
        if self._denied_unless_principal_arns:
            statements.append(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    conditions={"ArnNotLike": {"aws:PrincipalArn": list(dict.fromkeys(self._denied_unless_principal_arns))}},
                    **anyone,
                )
            )
        return iam.PolicyDocument(statements=statements).to_json() if statements else None

    def _create_rest_api(
        self, location: str, vpc_endpoint_id: Optional[str], api_gateway_account_role: str
    ) -> apigateway.SpecRestApi:
        if vpc_endpoint_id is None:
            endpoint = apigateway.EndpointConfiguration(types=[apigateway.EndpointType.REGIONAL])
        else:
            endpoint = apigateway.EndpointConfiguration(
                types=[apigateway.EndpointType.PRIVATE],
                vpc_endpoints=[
                    ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
                        self, "VpcEndpoint", vpc_endpoint_id=vpc_endpoint_id, port=443
                    )
                ],
            )
        logging = {}
        if api_gateway_account_role != rules.NONE:
            self.access_log_group = self.new_log_group(self, "AccessLogs")
            logging = {
                "access_log_destination": apigateway.LogGroupLogDestination(self.access_log_group),
                "access_log_format": apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
                # Errors only: request and response bodies (data trace) would log cluster
                # configurations, which may hold secrets.
                "logging_level": apigateway.MethodLoggingLevel.ERROR,
                "data_trace_enabled": False,
            }
        rest_api = apigateway.SpecRestApi(
            self,
            "RestApi",
            rest_api_name=f"{Aws.STACK_NAME}-ParallelClusterApi",
            description=f"AWS ParallelCluster API {self.parallelcluster_version}",
            api_definition=apigateway.ApiDefinition.from_inline(
                {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": location}}}
            ),
            endpoint_configuration=endpoint,
            # The account's API Gateway settings are shared by every API of the account and
            # Region; api_gateway_account_role decides how they are handled, not SpecRestApi.
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=100,
                throttling_burst_limit=10,
                **logging,
            ),
        )
        # SpecRestApi adds an "Endpoint" output with a trailing slash; the stack declares the
        # official ParallelClusterApiInvokeUrl instead.
        rest_api.node.try_remove_child("Endpoint")
        if api_gateway_account_role == rules.ENSURE:
            self.account_role: Optional[ApiGatewayAccountRole] = ApiGatewayAccountRole(
                self, "AccountRole", iam_name=self._iam_name, log_group_factory=self.new_log_group
            )
            rest_api.deployment_stage.node.add_dependency(self.account_role)
        else:
            self.account_role = None
        if api_gateway_account_role == rules.NONE:
            acknowledge(
                rest_api.deployment_stage,
                "CloudWatch logging of API requests is off because the deployer chose "
                "ApiGatewayAccountRole=none; Lambda logs and X-Ray traces still record every call.",
                "AwsSolutions-APIG1",
                "AwsSolutions-APIG6",
                "Serverless-APIGWAccessLogging",
                "NIST.800.53.R5-APIGWExecutionLoggingEnabled",
                "HIPAA.Security-APIGWExecutionLoggingEnabled",
            )
        acknowledge(
            rest_api.node.default_child,
            "The methods come from the official OpenAPI spec, included at deploy time, which "
            "declares no request validators; the function validates every request against the "
            "same spec and answers 400 to an invalid one.",
            "AwsSolutions-APIG2",
        )
        acknowledge(
            rest_api.deployment_stage,
            "Responses describe live clusters and images per caller, so caching them would serve "
            "stale or another caller's state; the stage therefore has no cache to encrypt.",
            "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
            "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        )
        acknowledge(
            rest_api.deployment_stage,
            "The only backend is a Lambda integration, which API Gateway calls through the Lambda "
            "API over TLS; client certificates only apply to HTTP backends.",
            "NIST.800.53.R5-APIGWSSLEnabled",
            "HIPAA.Security-APIGWSSLEnabled",
        )
        return rest_api

    def _create_custom_domain(
        self,
        domain_name: str,
        certificate: Union[str, acm.ICertificate, None],
        hosted_zone_id: Optional[str],
    ) -> apigateway.DomainName:
        if isinstance(certificate, str):
            rules.ACM_CERTIFICATE_ARN.check("custom_domain_certificate", certificate)
            certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate)
        domain = apigateway.DomainName(
            self,
            "CustomDomain",
            domain_name=domain_name,
            certificate=certificate,
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=apigateway.SecurityPolicy.TLS_1_2,
        )
        domain.add_base_path_mapping(self.rest_api, stage=self.rest_api.deployment_stage)
        if hosted_zone_id is not None:
            zone = route53.HostedZone.from_hosted_zone_id(self, "HostedZone", hosted_zone_id)
            route53.ARecord(
                self,
                "CustomDomainAlias",
                zone=zone,
                # A fully qualified name (trailing dot) needs no zone name, which an id alone lacks.
                record_name=f"{domain_name}.",
                target=route53.RecordTarget.from_alias(route53_targets.ApiGatewayDomain(domain)),
            )
        return domain

    def _refuse_second_api_in_stack(self) -> None:
        stack = Stack.of(self)
        for construct in stack.node.find_all():
            if isinstance(construct, ParallelClusterApi) and construct is not self:
                if Stack.of(construct) is stack:
                    raise ValueError(
                        f"{stack.node.path} already holds a ParallelClusterApi "
                        f"({construct.node.path}): the official OpenAPI spec refers to the fixed "
                        f"logical ids {FUNCTION_LOGICAL_ID} and {EXECUTION_ROLE_LOGICAL_ID}, so "
                        "a stack can hold only one; put the second API in its own stack or a "
                        "NestedStack."
                    )

    def _api_definition_location(self, api_definition_s3_uri: Optional[str]) -> str:
        if api_definition_s3_uri is not None:
            return api_definition_s3_uri
        region = Stack.of(self).region
        if not Token.is_unresolved(region):
            return official_api_definition_s3_uri(self.parallelcluster_version, region)
        # AWS::Include passes intrinsic functions to the transform as literal text; only a
        # Ref to a template parameter is resolved first (Fn::Transform documentation). So a
        # stack without a Region takes the location as a parameter at deploy time.
        example = official_api_definition_s3_uri(self.parallelcluster_version, "<region>")
        return _location_parameter(Stack.of(self), example).value_as_string

    def _iam_name(self, base: str) -> Optional[str]:
        """With a prefix, an explicit name that starts with it; else CloudFormation's own."""
        if not self._prefix:
            return None
        return Fn.join("", [f"{self._prefix}{base}-", self._stack_id_suffix])

    def _managed_policy(
        self, name: str, policy: Union[str, iam.IManagedPolicy, None]
    ) -> Optional[iam.IManagedPolicy]:
        if policy is None or not isinstance(policy, str):
            return policy
        rules.IAM_POLICY_ARN.check(name, policy)
        return iam.ManagedPolicy.from_managed_policy_arn(self, "PermissionsBoundary", policy)

    def _imported_role(self, role: Union[str, iam.IRole]) -> iam.IRole:
        if not isinstance(role, str):
            return role
        rules.IAM_ROLE_ARN.check("parallelcluster_function_role", role)
        # Immutable: the construct must not add statements to a role it does not own.
        return iam.Role.from_role_arn(self, "FunctionRole", role, mutable=False)

    def _create_function_role(
        self,
        scope: permissions.PermissionScope,
        *,
        enable_iam_admin_access: bool,
        permissions_boundary_arn: Optional[str],
        fsx_s3_buckets: Sequence[str],
    ) -> iam.Role:
        role = ManagedPolicyRole(
            self,
            "FunctionRole",
            role_name=self._iam_name("ParallelClusterLambdaRole"),
            policy_name=self._iam_name("ParallelClusterLambdaRuntimePolicy"),
            description="Runs the ParallelCluster API function",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        policies = {
            "ParallelClusterClusterPolicy1": (
                "Cluster operations: EC2, DynamoDB, Route 53, CloudFormation, CloudWatch",
                permissions.cluster_statements_ec2_and_stacks(scope),
            ),
            "ParallelClusterClusterPolicy2": (
                "Cluster operations: IAM reads and pass role, Lambda, S3, FSx, EFS, logs, login nodes",
                permissions.cluster_statements_iam_and_storage(scope),
            ),
            "ParallelClusterClusterPolicyBatch": (
                "Clusters with the AWS Batch scheduler",
                permissions.batch_statements(scope),
            ),
            "ParallelClusterImageManagedPolicy": (
                "Image operations: build, delete, list and describe custom images",
                permissions.image_statements(scope),
            ),
            "ParallelClusterLogRetrievalPolicy": (
                "Reading and exporting cluster and image logs",
                permissions.log_retrieval_statements(scope),
            ),
        }
        if enable_iam_admin_access:
            policies["DefaultParallelClusterIamAdminPolicy"] = (
                "IAM admin access: roles and instance profiles under parallelcluster/",
                permissions.iam_admin_statements(scope, permissions_boundary_arn),
            )
        if fsx_s3_buckets:
            policies["ParallelClusterFSxS3AccessPolicy"] = (
                "FSx for Lustre data repositories in S3",
                permissions.fsx_s3_statements(scope, fsx_s3_buckets),
            )
        for name, (description, statements) in policies.items():
            policy = iam.ManagedPolicy(
                self,
                name,
                managed_policy_name=self._iam_name(name),
                description=f"ParallelCluster API function - {description}",
                document=iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": statements}),
                roles=[role],
            )
            acknowledge_wildcards(policy, statements, permissions.WILDCARD_REASONS)
            if any(action.endswith(":*") for statement in statements for action in statement["Action"]):
                acknowledge(
                    policy,
                    permissions.FULL_ACCESS_REASON,
                    "NIST.800.53.R5-IAMPolicyNoStatementsWithFullAccess",
                    "HIPAA.Security-IAMPolicyNoStatementsWithFullAccess",
                )
        return role


def official_api_definition_s3_uri(parallelcluster_version: str, region: str) -> str:
    """Where AWS publishes the OpenAPI spec of a ParallelCluster version in a Region."""
    return (
        f"s3://{region}-aws-parallelcluster/parallelcluster/{parallelcluster_version}"
        "/api/ParallelCluster.openapi.yaml"
    )


def _location_parameter(stack: Stack, example: str) -> CfnParameter:
    """The template parameter of the spec location, in the top-level stack.

    A nested stack's parameters are set by its parent; a parameter of the top-level stack that a
    nested stack references reaches it as a nested stack parameter, which CDK wires.
    """
    while stack.nested_stack_parent is not None:
        stack = stack.nested_stack_parent
    existing = stack.node.try_find_child("ApiDefinitionS3Uri")
    if isinstance(existing, CfnParameter):
        return existing
    return CfnParameter(
        stack,
        "ApiDefinitionS3Uri",
        type="String",
        allowed_pattern=rules.S3_URI.pattern,
        constraint_description=rules.S3_URI.expected,
        description=f"S3 URI of the ParallelCluster OpenAPI spec, in the Region you deploy to: {example}",
    )


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
