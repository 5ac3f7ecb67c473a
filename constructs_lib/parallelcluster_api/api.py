"""The ParallelCluster API: a SigV4-authenticated REST API in front of the ParallelCluster function."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Names, Stack, Tags, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from constructs_lib import validation as forms
from constructs_lib.api_alarms import ApiAlarms
from constructs_lib.api_image.image_build import ApiImageBuild
from constructs_lib.api_logging import ApiGatewayAccountRole
from constructs_lib.audit import acknowledge, nag_text
from constructs_lib.conventions import Conventions
from constructs_lib.flags import Flag
from constructs_lib.helper_function import HelperFunction
from constructs_lib.l1 import l1
from constructs_lib.parallelcluster_api.function import (
    API_HANDLER,
    FUNCTION_LOGICAL_ID,
    ApiFunctionBuilder,
    check_additional_policies,
)
from constructs_lib.parallelcluster_api.function_permissions import PermissionScope
from constructs_lib.parallelcluster_api.plan import CodePlan, FrontEndPlan, Plan, RolePlan
from constructs_lib.parallelcluster_api.props import (
    AccountRoleMode,
    ApiEndpoint,
    FunctionCode,
    FunctionCodeSource,
    FunctionRole,
)
from constructs_lib.parallelcluster_api.rest_api import (
    EXECUTION_ROLE_LOGICAL_ID,
    STAGE_NAME,
    ApiFrontEndBuilder,
    api_definition_location,
    official_api_definition_s3_uri,
)
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION

__all__ = ["API_HANDLER", "STAGE_NAME", "ParallelClusterApi", "official_api_definition_s3_uri"]

VERSION_TAG = "parallelcluster:version"


class ParallelClusterApi(Construct):
    """The AWS ParallelCluster API, as the official CloudFormation template deploys it.

    A REST API (regional endpoint, stage ``prod``) whose body is the official OpenAPI spec, pulled
    in with ``AWS::Include``; every request must be SigV4-signed, and a resource policy admits only
    the API user role. Behind it, the ``ParallelClusterFunction`` Lambda runs ParallelCluster with
    the permissions the release needs.

    Only one ``ParallelClusterApi`` fits in a stack (the spec pins two logical ids); put each
    further one in its own stack or ``NestedStack``.

    Attributes: ``function``, ``function_role``, ``log_group``, ``rest_api`` (``rest_apis``), ``invoke_url``,
    ``invoke_arn``, ``api_user_role``, ``execution_role``, ``access_log_group``, ``domain``,
    ``domain_target``, ``repository``, ``image_build``, ``layer``, ``account_role``,
    ``alarms``, ``conventions``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parallelcluster_version: str = DEFAULT_PARALLELCLUSTER_VERSION,
        region: str = forms.ALL_REGIONS,
        api_definition_s3_uri: str | None = None,
        function_code: FunctionCode | None = None,
        function_role: FunctionRole | None = None,
        permissions_boundary: iam.IManagedPolicy | None = None,
        iam_role_and_policy_prefix: str = "",
        create_api_user_role: bool = True,
        allowed_principals: Sequence[iam.IRole] = (),
        allow_cross_account_principals: bool = False,
        endpoint: ApiEndpoint | None = None,
        api_gateway_account_role: AccountRoleMode = AccountRoleMode.ENSURE,
        web_acl_arn: str | None = None,
        logs_key: kms.IKey | None = None,
        reserved_concurrent_executions: int | None = None,
        alarm_topic: sns.ITopic | None = None,
    ) -> None:
        """Create the API.

        :param parallelcluster_version: ParallelCluster version the API serves; one this project
            checked (``SUPPORTED_PARALLELCLUSTER_VERSIONS``). It selects the spec, the image or
            layer, and tags every resource.
        :param region: ``*`` to let the API manage ParallelCluster resources in every Region, or
            one Region name to limit the function's permissions to that Region.
        :param api_definition_s3_uri: S3 URI of the OpenAPI spec. Default: the official spec of
            the version in the deployment Region's ParallelCluster bucket.
        :param function_code: Where the function's code comes from. Default:
            ``FunctionCode.build_in_account()``, an image EC2 Image Builder builds in the account.
        :param function_role: The function's role. Default: ``FunctionRole.create()``, a role with
            the permissions the release needs and no IAM admin access.
        :param permissions_boundary: Managed policy set as permissions boundary on every role this
            construct creates; the function may then create cluster and image roles only with that
            boundary (ParallelCluster's PermissionsBoundary mode).
        :param iam_role_and_policy_prefix: Prefix (at most 10 characters) of every IAM role and
            policy name this construct creates.
        :param create_api_user_role: Create the role that may invoke the API; the resource
            policy then denies every other principal.
        :param allowed_principals: Further IAM roles allowed to invoke the API by the resource
            policy (as :meth:`grant_invoke` does, for roles whose policies are not yours to change).
        :param allow_cross_account_principals: Let ``allowed_principals`` name roles of other
            accounts. Without it, the resource policy denies every principal of another account.
        :param endpoint: How clients reach the API. Default: ``ApiEndpoint.regional()``.
        :param api_gateway_account_role: What to do with the account's API Gateway CloudWatch role,
            which request logging needs. Default: ``AccountRoleMode.ENSURE``.
        :param web_acl_arn: ARN of an AWS WAF (v2, regional) web ACL to associate with the stage.
        :param logs_key: KMS key that encrypts every log group of this construct; its key policy
            must let CloudWatch Logs use it. Default: CloudWatch Logs' own encryption.
        :param reserved_concurrent_executions: Concurrency reserved for (and capping) the API
            function. Default: none, the account's unreserved pool.
        :param alarm_topic: SNS topic (in the stack's Region) that the API's CloudWatch alarms
            notify, when they fire and when they are back to OK. Default: the alarms notify nobody.
        """
        super().__init__(scope, construct_id)
        # The props' own values are checked by _check_plan, at the top of _build, for this API and
        # for one made from a plan alike; the spec's location is checked before it becomes one.
        forms.check_version("parallelcluster_version", parallelcluster_version)
        principal_arns = [role.role_arn for role in allowed_principals]
        code = function_code or FunctionCode.build_in_account()
        role = function_role or FunctionRole.create()
        endpoint = endpoint or ApiEndpoint.regional()
        domain = endpoint.custom_domain
        fsx = role.fsx_s3_access
        network = code.network
        source = code.source
        image_uri = code.image_uri or ""
        self._build(
            Plan(
                parallelcluster_version=parallelcluster_version,
                permissions=PermissionScope(region),
                api_definition_location=api_definition_location(self, parallelcluster_version, api_definition_s3_uri),
                conventions=Conventions.of(self, prefix=iam_role_and_policy_prefix, logs_key=logs_key),
                code=CodePlan(
                    uses_layer=Flag(source is FunctionCodeSource.OFFICIAL_LAYER),
                    uses_custom_bucket=Flag(code.layer_bucket is not None),
                    layer_bucket=code.layer_bucket or "",
                    uses_ecr_image=Flag(source is FunctionCodeSource.ECR_IMAGE),
                    ecr_image_uri=image_uri if source is FunctionCodeSource.ECR_IMAGE else "",
                    copies_image=Flag(source is FunctionCodeSource.COPY_OF_IMAGE),
                    copy_image_uri=image_uri if source is FunctionCodeSource.COPY_OF_IMAGE else "",
                    local_docker=source is FunctionCodeSource.LOCAL_DOCKER,
                    has_build_network=Flag(network is not None),
                    vpc_id=network.vpc_id if network else "",
                    subnet_id=network.subnet_id if network else "",
                ),
                role=RolePlan(
                    uses_existing=Flag(role.existing is not None),
                    existing=role.existing,
                    iam_admin=Flag(role.enable_iam_admin_access),
                    fsx=Flag(fsx is not None),
                    fsx_all_buckets=Flag(fsx is not None and fsx.bucket_arns == (forms.ALL_BUCKETS,)),
                    fsx_bucket_arns=fsx.bucket_arns if fsx else (),
                    has_additional_policies=Flag(bool(role.additional_policies)),
                    additional_policies=role.additional_policies,
                ),
                front_end=FrontEndPlan(
                    user_role=Flag(create_api_user_role),
                    private=Flag(endpoint.vpc_endpoint is not None),
                    vpc_endpoint=endpoint.vpc_endpoint,
                    custom_domain=Flag(domain is not None),
                    domain_name=domain.domain_name if domain else "",
                    certificate=domain.certificate if domain else None,
                    has_hosted_zone=Flag(domain is not None and domain.hosted_zone is not None),
                    hosted_zone=domain.hosted_zone if domain else None,
                    allowed_principal_arns=principal_arns,
                    allow_cross_account_principals=allow_cross_account_principals,
                    ensures_account_role=Flag(api_gateway_account_role is AccountRoleMode.ENSURE),
                    logs_requests=Flag(api_gateway_account_role is not AccountRoleMode.NONE),
                    has_web_acl=Flag(web_acl_arn is not None),
                    web_acl_arn=web_acl_arn or "",
                ),
                has_boundary=Flag(permissions_boundary is not None),
                boundary=permissions_boundary,
                boundary_arn=permissions_boundary.managed_policy_arn if permissions_boundary else "",
                reserves_concurrency=Flag(reserved_concurrent_executions is not None),
                reserved_concurrent_executions=reserved_concurrent_executions or 0,
                has_alarm_topic=Flag(alarm_topic is not None),
                alarm_topic=alarm_topic,
            )
        )

    @classmethod
    def from_plan(cls, scope: Construct, construct_id: str, *, plan: Plan) -> ParallelClusterApi:
        """The API built from a :class:`Plan` whose choices may be decided at deploy time.

        The portable template (``stacks/portable_template.py``) builds the API this way, from
        conditions over its parameters. The plan's values are checked as the props' are; those that
        are parameters are checked when CloudFormation reads them (their constraints and rules).
        """
        return _PlannedApi(scope, construct_id, plan)

    def _check_plan(self, plan: Plan) -> None:
        """Refuse, in one line naming the prop, a value that does not have its form (tokens pass)."""
        forms.check_version("parallelcluster_version", plan.parallelcluster_version)
        forms.check_region("region", plan.permissions.region)
        forms.IAM_PREFIX.check("iam_role_and_policy_prefix", plan.conventions.prefix)
        reserved = plan.reserved_concurrent_executions
        if plan.reserves_concurrency.certain and not Token.is_unresolved(reserved):
            forms.RESERVED_CONCURRENCY.check("reserved_concurrent_executions", str(reserved))
        if plan.front_end.has_web_acl.certain:
            forms.WEB_ACL_ARN.check("web_acl_arn", plan.front_end.web_acl_arn)
        if plan.has_alarm_topic.certain and plan.alarm_topic is not None:
            forms.SNS_TOPIC_ARN.check("alarm_topic", plan.alarm_topic.topic_arn)
        if not plan.front_end.allow_cross_account_principals:
            self._refuse_other_accounts(plan.front_end.allowed_principal_arns)
        check_additional_policies(plan)

    def _build(self, plan: Plan) -> None:
        """Build what ``plan`` says (its choices known now, or decided at deploy time)."""
        self._check_plan(plan)
        self._refuse_second_api_in_stack()
        #: The choices the API was built with (known at synth time unless made from a template's parameters).
        self.plan = plan
        self.parallelcluster_version = plan.parallelcluster_version
        self.conventions = plan.conventions
        if plan.has_boundary.possible:
            assert plan.boundary is not None
            iam.PermissionsBoundary.of(self).apply(plan.boundary)

        function = ApiFunctionBuilder(self, plan)
        self.function: lambda_.Function = function.function
        self.function_role: iam.IRole = function.role
        self.log_group: logs.LogGroup = function.log_group
        self.repository: ecr.Repository | None = function.repository
        self.image_build: ApiImageBuild | None = function.image_build
        self.layer: lambda_.LayerVersion | None = function.layer

        self._front_end = ApiFrontEndBuilder(self, plan, function=self.function, waits_for=function.permissions)
        #: Every REST API the stack may hold, by logical id: one, unless the kind of endpoint is
        #: decided at deploy time (the portable template holds one per kind, by condition).
        self.rest_apis: dict[str, apigateway.SpecRestApi] = self._front_end.rest_apis
        #: ``execute-api`` ARN of every stage, method and path of this API.
        self.invoke_arn: str = self._front_end.invoke_arn
        #: ``https://...`` URL of the ``prod`` stage (or the custom domain), without a trailing slash.
        self.invoke_url: str = self._front_end.invoke_url
        self.execution_role: iam.Role = self._front_end.execution_role
        self.api_user_role: iam.Role | None = self._front_end.api_user_role
        self.access_log_group: logs.LogGroup | None = self._front_end.access_log_group
        self.account_role: ApiGatewayAccountRole | None = self._front_end.account_role
        self.domain: apigateway.DomainName | None = self._front_end.domain
        #: With a custom domain and no hosted zone: the regional domain name to point DNS at.
        self.domain_target: str | None = self._front_end.domain_target
        if self.api_user_role is not None:
            self.grant_invoke(self.api_user_role, admit=False)
            self.acknowledge_invoke_grant(
                self.api_user_role,
                "The user role may call every method and path of this one API, as in the official "
                "template; narrower grants are the account administrator's choice (README).",
            )
            plan.front_end.user_role.guard(self.api_user_role)
        #: The CloudWatch alarms on the API function, the image updater and every dead-letter queue.
        self.alarms = ApiAlarms(
            self,
            "Alarms",
            api_function=self.function,
            helpers=[construct for construct in self.node.find_all() if isinstance(construct, HelperFunction)],
            updater=self.image_build.updater if self.image_build is not None else None,
            topic=plan.alarm_topic,
            has_topic=plan.has_alarm_topic,
        )
        Tags.of(self).add(VERSION_TAG, self.parallelcluster_version)

    @property
    def rest_api(self) -> apigateway.SpecRestApi:
        """The REST API (its logical id is AWS's template's for the kind of endpoint)."""
        return self._front_end.rest_api

    def grant_invoke(self, grantee: iam.IGrantable, *, admit: bool = True) -> iam.Grant:
        """Let ``grantee`` invoke every method of the API.

        Adds ``execute-api:Invoke`` on this API to the grantee's policy and, when the resource
        policy only admits the API user role, admits the grantee's role or user ARN too. Works
        after construction, for grantees in this stack or in the stack that holds this API's
        nested stack. A role of a sibling stack would make the two stacks reference each other
        (a dependency cycle): pass it in ``allowed_principals`` instead.
        """
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=["execute-api:Invoke"], resource_arns=[self.invoke_arn])
        if admit and self.api_user_role is not None:
            principal = grantee.grant_principal
            principal_arn = getattr(principal, "role_arn", None) or getattr(principal, "arn", None)
            if principal_arn is None:
                raise ValueError(
                    f"grant_invoke: {principal} has no role or user ARN; the resource policy admits "
                    "principals by ARN (aws:PrincipalArn)"
                )
            self._front_end.admit(principal_arn)
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
            raise ValueError(f"{stack.node.path} is neither the stack of {self.node.path} nor its nested stack's parent")
        # The parent reads the API id through the output CDK adds to the nested stack for this
        # reference: <unique id of the referenced resource>Ref.
        rest_api = l1(self.rest_api, apigateway.CfnRestApi)
        nested_stack = own.nested_stack_resource
        assert nested_stack is not None  # a stack with a parent is a nested stack
        api_id = nested_stack.get_att(f"Outputs.{Names.node_unique_id(rest_api.node)}Ref")
        arn = own.format_arn(
            service="execute-api",
            resource=api_id.to_string(),
            resource_name="*/*/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        return nag_text(stack, arn)

    def _refuse_other_accounts(self, principal_arns: Sequence[str]) -> None:
        """Refuse, when both are known at synth time, a principal of another account than the stack's."""
        account = Stack.of(self).account
        if Token.is_unresolved(account):
            return  # the resource policy still denies other accounts at request time
        for arn in principal_arns:
            if not Token.is_unresolved(arn) and arn.split(":")[4] != account:
                raise forms.InvalidSettingError(
                    "allowed_principals",
                    f"roles of this stack's account {account} (a role of another account needs "
                    "allow_cross_account_principals)",
                    arn,
                )

    def _refuse_second_api_in_stack(self) -> None:
        stack = Stack.of(self)
        for construct in stack.node.find_all():
            if isinstance(construct, ParallelClusterApi) and construct is not self and Stack.of(construct) is stack:
                raise ValueError(
                    f"{stack.node.path} already holds a ParallelClusterApi ({construct.node.path}): the "
                    f"official OpenAPI spec refers to the fixed logical ids {FUNCTION_LOGICAL_ID} and "
                    f"{EXECUTION_ROLE_LOGICAL_ID}, so a stack can hold only one; put the second API in "
                    "its own stack or a NestedStack."
                )


class _PlannedApi(ParallelClusterApi):
    """:meth:`ParallelClusterApi.from_plan`: the construct itself, without the typed props that
    ``ParallelClusterApi.__init__`` turns into a plan."""

    def __init__(self, scope: Construct, construct_id: str, plan: Plan) -> None:
        Construct.__init__(self, scope, construct_id)
        self._build(plan)
