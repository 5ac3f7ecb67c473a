"""The API's front end: the REST API of the official spec, who may call it, its logs, domain and WAF."""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, CfnParameter, Fn, Stack, Token
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from constructs_lib import validation as forms
from constructs_lib.api_logging import ApiGatewayAccountRole
from constructs_lib.audit import acknowledge
from constructs_lib.flags import YES, Flag
from constructs_lib.l1 import l1
from constructs_lib.managed_policy_role import ManagedPolicyRole
from constructs_lib.parallelcluster_api.plan import Plan

# The official OpenAPI spec refers to this logical id from its integrations
# (`${APIGatewayExecutionRole.Arn}`); AWS::Include resolves it against this template.
EXECUTION_ROLE_LOGICAL_ID = "APIGatewayExecutionRole"
STAGE_NAME = "prod"
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
ACCESS_LOG_FORMAT_TEXT = json.dumps(ACCESS_LOG_FORMAT)
EXECUTION_LOGGING = apigateway.MethodLoggingLevel.ERROR


# AWS's template makes the REST API under one of three logical ids, by the kind of endpoint (its
# conditions); a stack moving from AWS's template to ours keeps its API (its id and invoke URL) only
# under the same one.
CUSTOM_DOMAIN_API_ID = "ApiGatewayApiWithCustomDomainAndRoute53Configuration"
PRIVATE_API_ID = "ApiGatewayApiWithPrivateVpcEndpoint"
REGIONAL_API_ID = "ApiGatewayApiWithoutCustomDomain"
USER_ROLE_LOGICAL_ID = "ParallelClusterApiUserRole"
# SAM's names for the custom domain's resources, which it suffixes with a hash of the domain name and
# of the hosted zone id (see sam_logical_id).
DOMAIN_LOGICAL_ID = "ApiGatewayDomainName"
RECORD_SET_GROUP_LOGICAL_ID = "RecordSetGroup"
SAM_HASH_LENGTH = 10


def sam_logical_id(prefix: str, value: str) -> str:
    """The logical id SAM gives a resource it names after a value: ``prefix`` and the first 10 hex
    digits of the value's SHA-1 (aws/serverless-application-model,
    samtranslator/translator/logical_id_generator.py; SAM resolves parameter references in an API's
    Domain before it names the domain's resources)."""
    return prefix + hashlib.sha1(value.encode("utf-8")).hexdigest()[:SAM_HASH_LENGTH]


@dataclass(frozen=True)
class _EndpointKind:
    """One kind of endpoint: the REST API's logical id, when it is the API, and how it is reached."""

    logical_id: str
    wanted: Flag
    private: bool = False

    @property
    def stage_logical_id(self) -> str:
        # SAM names the stage <api>Stage when StageName is an intrinsic, as AWS's template gives it.
        return f"{self.logical_id}Stage"

    @property
    def base_path_mapping_logical_id(self) -> str:
        return f"{self.logical_id}BasePathMapping"


class ApiFrontEndBuilder:
    """The REST API in front of the function, and everything about who reaches it and how.

    A REST API whose body is the official OpenAPI spec (``AWS::Include``), SigV4 on every method,
    the ``prod`` stage (X-Ray, metrics, throttling, access and execution logs), the role API
    Gateway invokes the function with, the API user role, the resource policy, the custom domain
    and the WAF association. The REST API, its stage and the roles take the logical ids and names
    of AWS's template, so that a stack moves from AWS's template to this one in place.

    Not a construct of its own: it adds its resources to the API construct's scope, where the
    deployed stacks have them (construct paths make the other logical ids). Where the kind of
    endpoint is decided at deploy time (the portable template), there is one REST API per kind
    that may be chosen, each with its condition, and what refers to the API picks between them.
    """

    def __init__(
        self, scope: Construct, plan: Plan, *, function: lambda_.IFunction, waits_for: Sequence[IConstruct] = ()
    ) -> None:
        """:param waits_for: what the stages wait for before they serve requests (the function's log permissions)."""
        self._scope = scope
        self._plan = plan
        front_end = self._front_end = plan.front_end
        conventions = self._conventions = plan.conventions
        self._allowed_principal_arns = list(front_end.allowed_principal_arns)
        self._admitted_principal_arns: list[str] = []

        self.execution_role = ManagedPolicyRole(
            scope,
            "ExecutionRole",
            role_name=conventions.stack_scoped_name("APIGatewayExecutionRole"),
            policy_name=conventions.iam_name("APIGatewayExecutionPolicy"),
            description="Lets API Gateway invoke the ParallelCluster API function",
            # API Gateway's principal is apigateway.amazonaws.com in every partition, China included.
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        )
        self.execution_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
        )
        l1(self.execution_role, iam.CfnRole).override_logical_id(EXECUTION_ROLE_LOGICAL_ID)

        self.api_user_role: iam.Role | None = None
        if front_end.user_role.possible:
            # Named from the stack id so that the resource policy can name it without
            # referencing the role (the role's policy already references the API).
            user_role_name = Fn.join("", [conventions.prefixed("PCAPIUserRole-"), conventions.stack_uuid])
            self.api_user_role = ManagedPolicyRole(
                scope,
                "ApiUserRole",
                role_name=user_role_name,
                policy_name=conventions.iam_name("ParallelClusterApiInvokePolicy"),
                description="May invoke the ParallelCluster API",
                assumed_by=iam.AccountRootPrincipal(),
            )
            l1(self.api_user_role, iam.CfnRole).override_logical_id(USER_ROLE_LOGICAL_ID)
            self._user_role_arn = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{user_role_name}"

        self.access_log_group: logs.LogGroup | None = None
        if front_end.logs_requests.possible:
            self.access_log_group = conventions.log_group(scope, "AccessLogs")
            front_end.logs_requests.guard(self.access_log_group)
        self.account_role: ApiGatewayAccountRole | None = None
        if front_end.ensures_account_role.possible:
            self.account_role = ApiGatewayAccountRole(scope, "AccountRole", conventions=conventions)
            front_end.ensures_account_role.guard(self.account_role)

        with_domain_and_zone = front_end.custom_domain & front_end.has_hosted_zone
        kinds = [
            _EndpointKind(CUSTOM_DOMAIN_API_ID, with_domain_and_zone),
            _EndpointKind(PRIVATE_API_ID, front_end.private, private=True),
            # The last one is what the others are not (the rules refuse a private API with a domain).
            _EndpointKind(REGIONAL_API_ID, ~with_domain_and_zone & ~front_end.private),
        ]
        self._apis = [(kind, self._create_rest_api(kind, waits_for)) for kind in kinds if kind.wanted.possible]
        #: Every REST API the template may create, by logical id (one, unless decided at deploy time).
        self.rest_apis: dict[str, apigateway.SpecRestApi] = {kind.logical_id: api for kind, api in self._apis}
        #: ``execute-api`` ARN of every stage, method and path of this API.
        self.invoke_arn = self._chosen(lambda kind, api: api.arn_for_execute_api("*", "/*", "*"))
        self.apply_resource_policy()

        if front_end.has_web_acl.possible:
            web_acl = wafv2.CfnWebACLAssociation(
                scope,
                "WebAcl",
                resource_arn=self._chosen(lambda kind, api: api.deployment_stage.stage_arn),
                web_acl_arn=front_end.web_acl_arn,
            )
            front_end.has_web_acl.guard(web_acl)

        self.domain: apigateway.DomainName | None = None
        self.domain_target: str | None = None
        if front_end.custom_domain.possible:
            self.domain = self._create_custom_domain()
            if not front_end.has_hosted_zone.certain:
                self.domain_target = self.domain.domain_name_alias_domain_name
        domain_url = f"https://{front_end.domain_name}"
        # The stage's URL where there is no custom domain (never the custom domain's own API), on
        # the <api id>-<vpce id> host names through the endpoint for a private API.
        stage_apis = [(kind, api) for kind, api in self._apis if kind.logical_id != CUSTOM_DOMAIN_API_ID]
        if front_end.custom_domain.certain:
            self.invoke_url = domain_url
        else:
            stage_url = self._chosen(
                lambda kind, api: f"https://{api.rest_api_id}{f'-{self._vpc_endpoint_id}' if kind.private else ''}"
                f".execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE_NAME}",
                stage_apis,
            )
            self.invoke_url = Token.as_string(front_end.custom_domain.pick(domain_url, stage_url))

    @property
    def rest_api(self) -> apigateway.SpecRestApi:
        """The REST API, where the kind of endpoint is known when the app synthesizes."""
        if len(self._apis) != 1:
            raise ValueError(f"the REST API is chosen at deploy time among {', '.join(self.rest_apis)}: see rest_apis")
        return self._apis[0][1]

    def _chosen(
        self,
        value: Callable[[_EndpointKind, apigateway.SpecRestApi], str],
        apis: Sequence[tuple[_EndpointKind, apigateway.SpecRestApi]] | None = None,
    ) -> str:
        """``value`` of the REST API the plan chooses (among ``apis``, by default all of them):
        ``Fn::If`` over the kinds when decided at deploy time."""
        apis = self._apis if apis is None else apis
        (last_kind, last_api), *_ = reversed(apis)
        chosen = value(last_kind, last_api)
        for kind, api in reversed(apis[:-1]):
            chosen = Token.as_string(kind.wanted.pick(value(kind, api), chosen))
        return chosen

    @property
    def _vpc_endpoint_id(self) -> str:
        endpoint = self._front_end.vpc_endpoint
        if endpoint is None:
            raise ValueError("the plan makes a private API but names no VPC endpoint")
        return endpoint.vpc_endpoint_id

    def admit(self, principal_arn: str) -> None:
        """Admit one more principal through the resource policy (when it only admits the user role)."""
        if self.api_user_role is None:
            return
        self._admitted_principal_arns.append(principal_arn)
        self.apply_resource_policy()

    def apply_resource_policy(self) -> None:
        """(Re)write each REST API's resource policy from the admitted principals."""
        for kind, api in self._apis:
            l1(api, apigateway.CfnRestApi).policy = self._resource_policy(private=kind.private)

    def _resource_policy(self, *, private: bool) -> Any:
        """Who may invoke the API, on top of the SigV4 authentication the spec requires.

        Deny every principal but the admitted ones: ``aws:PrincipalArn`` is the role's ARN for
        its assumed-role sessions too (IAM global condition keys documentation), so the user
        role's temporary credentials pass. ``allowed_principal_arns`` are allowed outright, so
        that roles of other stacks need no identity policy. A private API needs a policy that
        allows its VPC endpoint and denies every other source (API Gateway private API
        documentation); it, and any policy that allows named principals, also denies principals
        of other accounts (``aws:PrincipalAccount``) unless the deployer allowed cross-account
        principals. Without any of these there is no resource policy: IAM policies alone decide,
        as in the official template (API Gateway then admits no other account's principal).
        """
        def invoke(
            effect: iam.Effect = iam.Effect.ALLOW,
            principals: Sequence[iam.IPrincipal] = (iam.AnyPrincipal(),),
            conditions: dict[str, Any] | None = None,
        ) -> dict[str, Any]:
            statement = iam.PolicyStatement(
                effect=effect,
                principals=list(principals),
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*/*/*"],
                conditions=conditions,
            )
            return dict(statement.to_statement_json())

        front_end = self._front_end
        allowed = self._allowed_principal_arns
        user_role = front_end.user_role
        # Each statement with the choice that includes it.
        statements: list[tuple[Flag, dict[str, Any]]] = []
        if private:
            through_endpoint = {"aws:SourceVpce": self._vpc_endpoint_id}
            statements += [
                (YES, invoke(conditions={"StringEquals": through_endpoint})),
                (YES, invoke(iam.Effect.DENY, conditions={"StringNotEquals": through_endpoint})),
            ]
        if allowed:
            statements.append((YES, invoke(principals=[iam.ArnPrincipal(arn) for arn in allowed])))
        if user_role.possible:
            admitted = list(dict.fromkeys([self._user_role_arn, *allowed, *self._admitted_principal_arns]))
            statements.append((user_role, invoke(iam.Effect.DENY, conditions={"ArnNotLike": {"aws:PrincipalArn": admitted}})))
        if private or allowed:
            other_accounts: dict[str, Any] = {"StringNotEquals": {"aws:PrincipalAccount": Aws.ACCOUNT_ID}}
            if front_end.allow_cross_account_principals and allowed:
                other_accounts["ArnNotLike"] = {"aws:PrincipalArn": allowed}
            statements.append((YES, invoke(iam.Effect.DENY, conditions=other_accounts)))
        if not statements:
            return None
        any_statement = functools.reduce(operator.or_, (flag for flag, _ in statements))
        document = {
            # A statement whose choice is the document's own needs no choice of its own.
            "Statement": [
                statement if flag.certain or flag.name == any_statement.name else flag.pick(statement)
                for flag, statement in statements
            ],
            "Version": "2012-10-17",
        }
        return any_statement.optional(document)

    def _create_rest_api(self, kind: _EndpointKind, waits_for: Sequence[IConstruct]) -> apigateway.SpecRestApi:
        scope, plan, front_end = self._scope, self._plan, self._front_end
        logs_requests = front_end.logs_requests
        if kind.private:
            endpoint = apigateway.EndpointConfiguration(
                types=[apigateway.EndpointType.PRIVATE], vpc_endpoints=[front_end.vpc_endpoint] if front_end.vpc_endpoint else None
            )
        else:
            endpoint = apigateway.EndpointConfiguration(types=[apigateway.EndpointType.REGIONAL])
        logs_to = self.access_log_group
        deploy_options = apigateway.StageOptions(
            stage_name=STAGE_NAME,
            tracing_enabled=True,
            metrics_enabled=True,
            throttling_rate_limit=100,
            throttling_burst_limit=10,
            access_log_destination=apigateway.LogGroupLogDestination(logs_to) if logs_to else None,
            access_log_format=apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT_TEXT) if logs_to else None,
            # Errors only: request and response bodies (data trace) would log cluster
            # configurations, which may hold secrets.
            logging_level=EXECUTION_LOGGING if logs_to else None,
            data_trace_enabled=False if logs_to else None,
        )
        rest_api = apigateway.SpecRestApi(
            scope,
            kind.logical_id,
            rest_api_name=f"{Aws.STACK_NAME}-ParallelClusterApi",
            description=f"AWS ParallelCluster API {plan.parallelcluster_version}",
            api_definition=apigateway.ApiDefinition.from_inline(
                {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": plan.api_definition_location}}}
            ),
            endpoint_configuration=endpoint,
            # The account's API Gateway settings are shared by every API of the account and
            # Region; the plan decides how they are handled, not SpecRestApi.
            cloud_watch_role=False,
            deploy_options=deploy_options,
        )
        stage = rest_api.deployment_stage
        if logs_to is not None and not logs_requests.known:
            # The logging settings above, where the deploy-time choice keeps request logging (data
            # trace stays off either way).
            cfn_stage = l1(stage, apigateway.CfnStage)
            cfn_stage.add_property_override(
                "AccessLogSetting",
                logs_requests.pick(
                    {
                        "DestinationArn": apigateway.LogGroupLogDestination(logs_to).bind(stage).destination_arn,
                        "Format": ACCESS_LOG_FORMAT_TEXT,
                    }
                ),
            )
            cfn_stage.add_property_override("MethodSettings.0.LoggingLevel", logs_requests.pick(EXECUTION_LOGGING.value))
        cfn_rest_api = l1(rest_api, apigateway.CfnRestApi)
        cfn_rest_api.override_logical_id(kind.logical_id)
        l1(stage, apigateway.CfnStage).override_logical_id(kind.stage_logical_id)
        # A deployment is a snapshot of the API, integrations included. A function of another
        # package type is a new function (PackageType is create-only) with another ARN, so the
        # API needs a new deployment then; where the package type is decided at deploy time, the
        # README says to redeploy.
        code, deployment = plan.code, rest_api.latest_deployment
        if code.uses_layer.known and deployment is not None:
            deployment.add_to_logical_id({"functionPackageType": "Zip" if code.uses_layer.certain else "Image"})
        # SpecRestApi adds an "Endpoint" output with a trailing slash; the stack declares the
        # official ParallelClusterApiInvokeUrl instead.
        rest_api.node.try_remove_child("Endpoint")
        if self.account_role is not None:
            stage.node.add_dependency(self.account_role)
        for dependency in waits_for:
            stage.node.add_dependency(dependency)
        if not kind.wanted.known:
            kind.wanted.guard(rest_api)
        self._acknowledge_findings(rest_api)
        return rest_api

    def _acknowledge_findings(self, rest_api: apigateway.SpecRestApi) -> None:
        stage, front_end = rest_api.deployment_stage, self._front_end
        if not front_end.logs_requests.certain:
            acknowledge(
                stage,
                "CloudWatch logging of API requests is off when the deployer chooses "
                "ApiGatewayAccountRole=none; Lambda logs and X-Ray traces still record every call.",
                "AwsSolutions-APIG1",
                "AwsSolutions-APIG6",
                "Serverless-APIGWAccessLogging",
                "NIST.800.53.R5-APIGWExecutionLoggingEnabled",
                "HIPAA.Security-APIGWExecutionLoggingEnabled",
            )
        if not front_end.has_web_acl.certain:
            acknowledge(
                stage,
                "Every request is SigV4-authenticated and limited by the resource policy; a WAF web "
                "ACL is optional (WebAclArn) because its rules are the account's own choice.",
                "AwsSolutions-APIG3",
                "NIST.800.53.R5-APIGWAssociatedWithWAF",
            )
        acknowledge(
            l1(rest_api, apigateway.CfnRestApi),
            "The methods come from the official OpenAPI spec, included at deploy time, which "
            "declares no request validators; the function validates every request against the "
            "same spec and answers 400 to an invalid one.",
            "AwsSolutions-APIG2",
        )
        acknowledge(
            stage,
            "Responses describe live clusters and images per caller, so caching them would serve "
            "stale or another caller's state; the stage therefore has no cache to encrypt.",
            "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
            "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        )
        acknowledge(
            stage,
            "The only backend is a Lambda integration, which API Gateway calls through the Lambda "
            "API over TLS; client certificates only apply to HTTP backends.",
            "NIST.800.53.R5-APIGWSSLEnabled",
            "HIPAA.Security-APIGWSSLEnabled",
        )

    def _create_custom_domain(self) -> apigateway.DomainName:
        """The regional domain name, its mapping to the stage, and its alias record in the zone.

        Logical ids as SAM gives them in AWS's template; where the plan names the domain and zone a
        stack of AWS's template was created with, SAM's ids for those values (so that the stack
        keeps its domain when it moves to this template).
        """
        scope, front_end = self._scope, self._front_end
        if front_end.certificate is None:
            raise ValueError("the plan makes a custom domain but names no certificate")
        official = front_end.official_domain
        domain = apigateway.DomainName(
            scope,
            "CustomDomain",
            domain_name=front_end.domain_name,
            certificate=front_end.certificate,
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=apigateway.SecurityPolicy.TLS_1_2,
        )
        l1(domain, apigateway.CfnDomainName).override_logical_id(
            sam_logical_id(DOMAIN_LOGICAL_ID, official.domain_name) if official else DOMAIN_LOGICAL_ID
        )
        front_end.custom_domain.guard(domain)
        for kind, api in self._apis:
            if kind.private:
                continue
            # The domain maps the API of its kind: AWS's template gives a domain with a hosted zone
            # its own kind, and ours maps a domain without one to the regional API.
            maps = kind.wanted if kind.logical_id == CUSTOM_DOMAIN_API_ID else kind.wanted & front_end.custom_domain
            if not maps.possible:
                continue
            mapping = apigateway.BasePathMapping(
                scope, kind.base_path_mapping_logical_id, domain_name=domain, rest_api=api, stage=api.deployment_stage
            )
            l1(mapping, apigateway.CfnBasePathMapping).override_logical_id(kind.base_path_mapping_logical_id)
            maps.guard(mapping)
        if front_end.has_hosted_zone.possible:
            if front_end.hosted_zone is None:
                raise ValueError("the plan makes a DNS record but names no hosted zone")
            # A record set group with one A alias record, the resource SAM makes for a domain's
            # Route 53 configuration (and its record's name, without the final dot).
            record = route53.CfnRecordSetGroup(
                scope,
                RECORD_SET_GROUP_LOGICAL_ID,
                hosted_zone_id=front_end.hosted_zone.hosted_zone_id,
                record_sets=[
                    route53.CfnRecordSetGroup.RecordSetProperty(
                        name=front_end.domain_name,
                        type="A",
                        alias_target=route53.CfnRecordSetGroup.AliasTargetProperty(
                            dns_name=domain.domain_name_alias_domain_name,
                            hosted_zone_id=domain.domain_name_alias_hosted_zone_id,
                        ),
                    )
                ],
            )
            record.override_logical_id(
                sam_logical_id(RECORD_SET_GROUP_LOGICAL_ID, official.hosted_zone_id) if official else RECORD_SET_GROUP_LOGICAL_ID
            )
            (front_end.custom_domain & front_end.has_hosted_zone).guard(record)
        return domain


def official_api_definition_s3_uri(parallelcluster_version: str, region: str) -> str:
    """Where AWS publishes the OpenAPI spec of a ParallelCluster version in a Region."""
    return f"s3://{region}-aws-parallelcluster/parallelcluster/{parallelcluster_version}/api/ParallelCluster.openapi.yaml"


def api_definition_location(scope: Construct, parallelcluster_version: str, api_definition_s3_uri: str | None) -> str:
    """The spec's S3 URI: the one given, else the official one of the stack's Region.

    AWS::Include passes intrinsic functions to the transform as literal text; only a Ref to a
    template parameter is resolved first (Fn::Transform documentation). So a stack without a
    Region takes the location as a parameter at deploy time.
    """
    if api_definition_s3_uri is not None:
        return forms.S3_URI.check("api_definition_s3_uri", api_definition_s3_uri)
    region = Stack.of(scope).region
    if not Token.is_unresolved(region):
        return official_api_definition_s3_uri(parallelcluster_version, region)
    example = official_api_definition_s3_uri(parallelcluster_version, "<region>")
    return _location_parameter(Stack.of(scope), example).value_as_string


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
        allowed_pattern=forms.S3_URI.pattern,
        constraint_description=forms.S3_URI.expected,
        description=f"S3 URI of the ParallelCluster OpenAPI spec, in the Region you deploy to: {example}",
    )
