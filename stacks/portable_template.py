"""The portable template: the API as one CloudFormation template whose options are parameters.

A drop-in for the official ``parallelcluster-api.yaml``: ``aws cloudformation create-stack`` and
``update-stack``, StackSets, Service Catalog and the ParallelCluster UI's nested stack take it with
the official parameter names (every parameter of AWS's template), and an ``update-stack`` from AWS's
template keeps the stack's API, roles and logs (its resources take AWS's logical ids and names). Its
default code is AWS's layer, as AWS's template's is. It is the same construct as the CDK app's: this stack builds
:class:`~constructs_lib.ParallelClusterApi` from a :class:`Plan` whose choices are conditions over
the parameters, so the template holds, for any parameter values, what the app synthesizes with the
same settings (``tests/stacks/test_portable_template.py`` checks this). Parameters take the official
defaults, allowed values and patterns; the combinations the app refuses, CloudFormation rules
refuse with the same words. The template needs no CDK bootstrap and no asset: the helper
functions' code is inline, and the OpenAPI spec comes from the location parameter, whose default
names the Region the template is made for (``AWS::Include`` resolves only a ``Ref`` to a parameter
in it, which is why the official template is published per Region too).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnParameter,
    CfnResource,
    CfnRule,
    CfnRuleAssertion,
    DefaultStackSynthesizer,
    Fn,
    ICfnConditionExpression,
    Stack,
    Token,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from constructs_lib import validation as forms
from constructs_lib.audit import acknowledge_template_check
from constructs_lib.conventions import Conventions
from constructs_lib.flags import Flag
from constructs_lib.l1 import l1
from constructs_lib.parallelcluster_api.api import ParallelClusterApi
from constructs_lib.parallelcluster_api.function_permissions import PermissionScope
from constructs_lib.parallelcluster_api.plan import CodePlan, FrontEndPlan, OfficialDomain, Plan, RolePlan
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION
from stacks.options import OPTIONS, TRUE_OR_FALSE, UNUSED_PARAMETERS, Parameter, parameter_groups, template_parameters
from stacks.parallelcluster_api_stack import declare_outputs
from stacks.settings import COMBINATIONS, Given

CODE_SOURCE = "LambdaImageSource"
# The parameters that name an image for the function; one that is set overrides LambdaImageSource.
NAMED_IMAGES = ("EcrImageUri", "PublicEcrImageUri")


def parameters(region: str, parallelcluster_version: str) -> list[Parameter]:
    """The template's parameters (the options of ``stacks/options.py`` that have one), the official ones first."""
    return template_parameters(OPTIONS, region, parallelcluster_version)


def with_defaults(declared: list[Parameter], defaults: Mapping[str, str]) -> list[Parameter]:
    """``declared`` with other defaults, each checked against its parameter's constraints."""
    by_name = {parameter.name: parameter for parameter in declared}
    for name, value in defaults.items():
        if name not in by_name:
            raise forms.InvalidSettingError("--default", f"parameter names of the template ({', '.join(by_name)})", name)
        parameter = by_name[name]
        fits = (parameter.allowed_values is None or value in parameter.allowed_values) and (
            parameter.pattern is None or re.fullmatch(parameter.pattern, value, flags=re.ASCII) is not None
        ) and (parameter.max_length is None or len(value) <= parameter.max_length)
        if not fits:
            expected = " or ".join(parameter.allowed_values) if parameter.allowed_values else parameter.constraint
            raise forms.InvalidSettingError(name, str(expected), value)
        by_name[name] = dataclasses.replace(parameter, default=value)
    return list(by_name.values())


def for_official_domain(declared: list[Parameter], domain: OfficialDomain) -> list[Parameter]:
    """``declared`` for a stack of AWS's template whose custom domain and hosted zone are ``domain``'s.

    The domain resources are named after these values (as SAM names them), so the parameters take
    them as defaults and accept nothing else: another domain needs its own template.
    """
    forms.DOMAIN_NAME.check("official_domain", domain.domain_name)
    forms.HOSTED_ZONE_ID.check("official_hosted_zone", domain.hosted_zone_id)
    fixed = {"CustomDomainName": domain.domain_name, "CustomDomainHostedZoneId": domain.hosted_zone_id}
    return [
        dataclasses.replace(
            parameter,
            default=fixed[parameter.name],
            pattern=f"^{re.escape(fixed[parameter.name])}$",
            constraint=(
                f"this template keeps the custom domain {domain.domain_name} (hosted zone {domain.hosted_zone_id}) "
                "that a stack of AWS's template created; make another template for another domain"
            ),
        )
        if parameter.name in fixed
        else parameter
        for parameter in declared
    ]


# How the CloudFormation console (and Service Catalog) groups the parameters
# (AWS::CloudFormation::Interface); every parameter is in one group.
PARAMETER_GROUPS = parameter_groups(OPTIONS)


class PortableTemplateStack(Stack):
    """The ParallelCluster API as one self-contained template with deploy-time parameters.

    :param region: The Region the template is made for: the default location of the OpenAPI spec.
    :param parallelcluster_version: The ParallelCluster version the API serves.
    :param defaults: Other defaults for some parameters (by name), for deployers who cannot pass
        them: e.g. ``EcrImageUri=<uri>`` for the ParallelCluster UI's nested stack.
    :param official_domain: For a stack of AWS's template with a custom domain and a hosted zone:
        that domain and zone. SAM named the domain's resources after them; the template's domain
        resources take the same logical ids (so the stack keeps its domain, see the README), and
        its CustomDomainName and CustomDomainHostedZoneId parameters accept those values alone.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str = "ParallelClusterApi",
        *,
        region: str,
        parallelcluster_version: str = DEFAULT_PARALLELCLUSTER_VERSION,
        defaults: Mapping[str, str] | None = None,
        official_domain: OfficialDomain | None = None,
    ) -> None:
        forms.check_region("region", region)
        forms.check_version("parallelcluster_version", parallelcluster_version)
        declared = with_defaults(parameters(region, parallelcluster_version), defaults or {})
        if official_domain is not None:
            declared = for_official_domain(declared, official_domain)
        self._official_domain = official_domain
        super().__init__(
            scope,
            construct_id,
            # No bootstrap version parameter or rule: the template uses no asset or bootstrap role.
            synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
            analytics_reporting=False,
            description=f"AWS ParallelCluster API {parallelcluster_version}",
        )
        self.parameters = {
            parameter.name: CfnParameter(
                self,
                parameter.name,
                type="String",
                description=parameter.description,
                default=parameter.default,
                allowed_values=parameter.allowed_values,
                allowed_pattern=parameter.pattern,
                constraint_description=parameter.constraint,
                max_length=parameter.max_length,
            )
            for parameter in declared
        }
        grouped = [name for names in PARAMETER_GROUPS.values() for name in names]
        if sorted(grouped) != sorted(self.parameters):
            raise ValueError("every parameter belongs to exactly one of PARAMETER_GROUPS")
        self.template_options.metadata = {
            "AWS::CloudFormation::Interface": {
                "ParameterGroups": [
                    {"Label": {"default": label}, "Parameters": names} for label, names in PARAMETER_GROUPS.items()
                ]
            }
        }
        self._refuse_contradictions()
        self._refuse_unused_values()
        self.api = ParallelClusterApi.from_plan(self, "Api", plan=self._plan(parallelcluster_version))
        declare_outputs(self, self.api)
        acknowledge_template_check(
            self,
            "The invoke URL output names each REST API inside Fn::If on that API's own condition; "
            "CDK's validation does not follow Fn::If in outputs and reports the reference as possibly "
            "missing, while cfn-lint, which follows it, reports nothing on this template.",
            "W1001",
        )
        self._carry_conditional_dependencies()
        self._acknowledge_parameter_defaults()

    def _value(self, name: str) -> str:
        return self.parameters[name].value_as_string

    def _equals(self, name: str, value: str) -> ICfnConditionExpression:
        return Fn.condition_equals(self.parameters[name].value_as_string, value)

    def _given(self, given: Given) -> ICfnConditionExpression:
        """A rule's test of a setting: set to its value (``true`` for a boolean), or not empty."""
        if given.value is not None:
            return self._equals(given.key, given.value)
        if self.parameters[given.key].allowed_values == list(TRUE_OR_FALSE):
            return self._equals(given.key, "true")
        return Fn.condition_not(self._equals(given.key, ""))

    def _no_named_image(self) -> ICfnConditionExpression:
        return Fn.condition_and(*(self._equals(name, "") for name in NAMED_IMAGES))

    def _all_set(self, *names: str) -> ICfnConditionExpression:
        tests = [Fn.condition_not(self._equals(name, "")) for name in names]
        return tests[0] if len(tests) == 1 else Fn.condition_and(*tests)

    def _when(self, name: str, expression: ICfnConditionExpression) -> Flag:
        return Flag.condition(self, name, expression)

    def _set(self, condition: str, parameter: str) -> Flag:
        return self._when(condition, Fn.condition_not(self._equals(parameter, "")))

    def _refuse_contradictions(self) -> None:
        """The app's refused combinations of settings, as rules CloudFormation checks before any change.

        LambdaImageSource has a default here (the layer), which a named image overrides: the app's
        rules about its value hold where no image is named, and those about the image keys need
        no rule.
        """
        for index, combination in enumerate(COMBINATIONS):
            keys = (combination.when.key, combination.then.key)
            if not all(key in self.parameters for key in keys):
                continue
            if combination.when.value is not None and combination.when.value not in (
                self.parameters[combination.when.key].allowed_values or [combination.when.value]
            ):
                continue  # a value the template does not offer (LambdaImageSource=asset)
            when = self._given(combination.when)
            if combination.when.key == CODE_SOURCE:
                if combination.then.key in NAMED_IMAGES:
                    continue
                when = Fn.condition_and(when, self._no_named_image())
            then = self._given(combination.then)
            CfnRule(
                self,
                f"Rule{index}{combination.when.key}{combination.then.key}",
                rule_condition=when,
                assertions=[
                    CfnRuleAssertion(
                        assert_=Fn.condition_not(then) if combination.excludes else then,
                        assert_description=f"{combination.then.key}: expected {combination.expected}",
                    )
                ],
            )

    def _refuse_unused_values(self) -> None:
        """AWS's parameters that have no use here accept nothing but empty, in the app's words."""
        for name, expected in UNUSED_PARAMETERS.items():
            CfnRule(
                self,
                f"Rule{name}NotUsed",
                assertions=[
                    CfnRuleAssertion(assert_=self._equals(name, ""), assert_description=f"{name}: expected {expected}")
                ],
            )

    def _carry_conditional_dependencies(self) -> None:
        """Move each dependency on a resource that may not be created from DependsOn into a property.

        A resource that depends on a resource with a condition is not created when that one is not
        (Condition attribute documentation), whatever its own condition. CloudFormation also orders
        a resource after those its properties reference (DependsOn attribute documentation): such a
        dependency becomes a reference, inside ``Fn::If`` on the target's condition, in a property
        that keeps its value: ``Fn::Select`` of the value from a list that also names the targets.
        """
        for source, targets in _dependencies(self):
            moved = [target for target in targets if not _implied(source, target)]
            if not moved:
                continue
            kept = [target for target in targets if _implied(source, target)]
            if kept:
                source.add_override("DependsOn", sorted(self.resolve(target.logical_id) for target in kept))
            else:
                source.add_deletion_override("DependsOn")
            carrier = next((attribute for kind, attribute in DEPENDENCY_CARRIERS.items() if isinstance(source, kind)), None)
            if carrier is None:
                raise TypeError(f"{source.node.path} depends on conditional resources; give its type a carrier property")
            value = getattr(source, carrier)
            by_condition: dict[str, list[CfnResource]] = {}
            for target in moved:
                condition = target.cfn_options.condition
                assert condition is not None
                by_condition.setdefault(self.resolve(condition.logical_id), []).append(target)
            for condition_name, group in sorted(by_condition.items()):
                value = Fn.condition_if(
                    condition_name, Fn.select(0, [value, *(target.ref for target in group)]), value
                ).to_string()
            setattr(source, carrier, value)

    def _acknowledge_parameter_defaults(self) -> None:
        """Acknowledge CDK's template checks of properties that take a parameter only when it is set.

        Such a property is ``Fn::If`` on a condition that the parameter is not empty, with the
        parameter in the true branch; CDK's template validation checks the parameter's empty
        default against the property's schema anyway (cfn-lint, which knows the condition, does
        not report these). Each check is acknowledged on the resources whose property that is.
        """
        api = self.api
        resources = _cfn_resources(self)
        function = l1(api.function, lambda_.CfnFunction)
        function_role = l1(api.function_role, iam.CfnRole)
        build, layer = api.image_build, api.layer
        # Built in the account unless the layer or a given image is chosen; the layer unless an image is.
        assert build is not None and layer is not None
        properties: list[tuple[list[CfnResource], str, str, str]] = [
            ([r for r in resources if isinstance(r, iam.CfnRole)], "PermissionsBoundary", "PermissionsBoundaryPolicy", "F3033"),
            ([r for r in resources if isinstance(r, logs.CfnLogGroup)], "KmsKeyId", "LogsKmsKeyArn", "F3031"),
            ([function_role], "ManagedPolicyArns", "ParallelClusterFunctionAdditionalPolicies", "F3031"),
            ([function], "Role", "ParallelClusterFunctionRole", "F3031"),
            ([function], "ReservedConcurrentExecutions", "ReservedConcurrency", "F3012"),
            ([build.infrastructure], "SubnetId", "ImageBuilderSubnetId", "F3033"),
            ([build.infrastructure], "SubnetId", "ImageBuilderSubnetId", "E1154"),
            ([build.recipe], "ParentImage", "PublicEcrImageUri", "F3033"),
            ([r for r in resources if isinstance(r, cloudwatch.CfnAlarm)], "AlarmActions (and OKActions)", "AlarmTopicArn", "F3033"),
            ([l1(layer, lambda_.CfnLayerVersion)], "Content", "CustomBucket", "F3033"),
        ]
        for targets, property_name, parameter, rule in properties:
            for resource in targets:
                acknowledge_template_check(
                    resource,
                    f"{property_name} takes the {parameter} parameter only under a condition that "
                    f"it is set (else {property_name} has no value or another one); its empty default "
                    "never reaches the property.",
                    rule,
                )

    def _plan(self, parallelcluster_version: str) -> Plan:
        value = self._value
        has_boundary = self._set("HasPermissionBoundary", "PermissionsBoundaryPolicy")
        logs_key_arn = value("LogsKmsKeyArn")
        prefix = value("IAMRoleAndPolicyPrefix")
        uses_layer = self._when("UseLayer", Fn.condition_and(self._equals(CODE_SOURCE, "layer"), self._no_named_image()))
        return Plan(
            parallelcluster_version=parallelcluster_version,
            permissions=PermissionScope(
                value("Region"), all_regions=self._when("AllRegions", self._equals("Region", forms.ALL_REGIONS))
            ),
            api_definition_location=value("ApiDefinitionS3Uri"),
            conventions=Conventions(
                prefix=prefix,
                stack_uuid=Fn.select(2, Fn.split("/", Aws.STACK_ID)),
                logs_key=kms.Key.from_key_arn(self, "LogsKmsKey", logs_key_arn),
                has_prefix=self._set("HasIamPrefix", "IAMRoleAndPolicyPrefix"),
                has_logs_key=self._set("EncryptLogsWithKmsKey", "LogsKmsKeyArn"),
            ),
            code=CodePlan(
                uses_layer=uses_layer,
                uses_ecr_image=self._set("UseEcrImage", "EcrImageUri"),
                ecr_image_uri=value("EcrImageUri"),
                uses_custom_bucket=self._set("UseCustomBucket", "CustomBucket"),
                layer_bucket=value("CustomBucket"),
                copies_image=self._set("CopyImage", "PublicEcrImageUri"),
                copy_image_uri=value("PublicEcrImageUri"),
                has_build_network=self._when("UseBuildNetwork", self._all_set("ImageBuilderVpcId", "ImageBuilderSubnetId")),
                vpc_id=value("ImageBuilderVpcId"),
                subnet_id=value("ImageBuilderSubnetId"),
            ),
            role=RolePlan(
                uses_existing=self._set("UseCustomParallelClusterFunctionRole", "ParallelClusterFunctionRole"),
                existing=iam.Role.from_role_arn(
                    self, "ParallelClusterFunctionRoleArn", value("ParallelClusterFunctionRole"), mutable=False
                ),
                iam_admin=self._when("EnableIamAdminAccessCondition", self._equals("EnableIamAdminAccess", "true")),
                # The buckets too (a rule requires them with EnableFSxS3Access): the policy names them.
                fsx=self._when(
                    "EnableFSxS3AccessCondition",
                    Fn.condition_and(self._equals("EnableFSxS3Access", "true"), self._all_set("FsxS3Buckets")),
                ),
                fsx_all_buckets=self._when("AllFsxS3Buckets", self._equals("FsxS3Buckets", forms.ALL_BUCKETS)),
                fsx_bucket_arns=[value("FsxS3Buckets")],
                has_additional_policies=self._set(
                    "HasAdditionalPolicies", "ParallelClusterFunctionAdditionalPolicies"
                ),
                additional_policy_arns=value("ParallelClusterFunctionAdditionalPolicies"),
            ),
            front_end=FrontEndPlan(
                user_role=self._when("CreateApiUserRoleCondition", self._equals("CreateApiUserRole", "true")),
                private=self._set("UsePrivateVpcEndpoint", "VpcEndpointId"),
                vpc_endpoint=ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
                    self, "VpcEndpoint", vpc_endpoint_id=value("VpcEndpointId"), port=443
                ),
                custom_domain=self._set("UseCustomDomain", "CustomDomainName"),
                domain_name=value("CustomDomainName"),
                certificate=acm.Certificate.from_certificate_arn(
                    self, "CustomDomainCertificateArn", value("CustomDomainCertificate")
                ),
                has_hosted_zone=self._set("UseRoute53Configuration", "CustomDomainHostedZoneId"),
                hosted_zone=route53.HostedZone.from_hosted_zone_id(
                    self, "CustomDomainHostedZone", value("CustomDomainHostedZoneId")
                ),
                official_domain=self._official_domain,
                ensures_account_role=self._when("EnsureAccountRole", self._equals("ApiGatewayAccountRole", "ensure")),
                logs_requests=self._when(
                    "LogApiRequests", Fn.condition_not(self._equals("ApiGatewayAccountRole", "none"))
                ),
                has_web_acl=self._set("UseWebAcl", "WebAclArn"),
                web_acl_arn=value("WebAclArn"),
            ),
            has_boundary=has_boundary,
            # Every role's PermissionsBoundary property: the policy, or no property without one.
            boundary=iam.ManagedPolicy.from_managed_policy_arn(
                self, "PermissionsBoundary", has_boundary.optional(value("PermissionsBoundaryPolicy"))
            ),
            boundary_arn=value("PermissionsBoundaryPolicy"),
            reserves_concurrency=self._set("ReserveConcurrency", "ReservedConcurrency"),
            reserved_concurrent_executions=Token.as_number(self.parameters["ReservedConcurrency"].value),
            has_alarm_topic=self._set("HasAlarmTopic", "AlarmTopicArn"),
            alarm_topic=sns.Topic.from_topic_arn(self, "AlarmTopic", value("AlarmTopicArn")),
        )


# The string property of each resource type that carries a dependency on a conditional resource.
DEPENDENCY_CARRIERS: dict[type[CfnResource], str] = {
    lambda_.CfnFunction: "description",
    apigateway.CfnStage: "stage_name",
}


def _cfn_resources(construct: IConstruct) -> list[CfnResource]:
    return [node for node in construct.node.find_all() if isinstance(node, CfnResource)]


def _dependencies(stack: Stack) -> list[tuple[CfnResource, list[CfnResource]]]:
    """Each resource's dependencies in ``stack``, as CDK makes them DependsOn when it prepares the app.

    A construct that depends on another makes each resource under it depend on each resource
    under the other; a resource may also depend on others directly. (Resources are told apart by
    construct path: the same resource may come back as several Python objects.)
    """
    resources: dict[str, CfnResource] = {}
    found: dict[str, list[str]] = {}

    def add(source: CfnResource, target: CfnResource) -> None:
        if source.node.path == target.node.path or Stack.of(target) is not stack:
            return
        resources.setdefault(source.node.path, source)
        resources.setdefault(target.node.path, target)
        targets = found.setdefault(source.node.path, [])
        if target.node.path not in targets:
            targets.append(target.node.path)

    for construct in stack.node.find_all():
        for dependency in construct.node.dependencies:
            for target in _cfn_resources(dependency):
                for source in _cfn_resources(construct):
                    add(source, target)
        if isinstance(construct, CfnResource):
            for target in construct.obtain_dependencies():
                add(construct, target)
    return [(resources[source], [resources[target] for target in targets]) for source, targets in found.items()]


def _implied(source: CfnResource, target: CfnResource) -> bool:
    """Whether ``target`` is created whenever ``source`` is (its condition is one of source's conjuncts)."""
    wanted = target.cfn_options.condition
    if wanted is None:
        return True
    have = source.cfn_options.condition
    return have is not None and wanted.node.path in {condition.node.path for condition in _conjuncts(have)}


def _conjuncts(condition: CfnCondition) -> list[CfnCondition]:
    """``condition`` and, for an ``Fn::And`` of conditions, each of them (recursively)."""
    stack = Stack.of(condition)
    found = [condition]
    expression = stack.resolve(condition.expression)
    for part in expression.get("Fn::And", []) if isinstance(expression, dict) else []:
        if isinstance(part, dict) and "Condition" in part:
            named = stack.node.try_find_child(part["Condition"])
            if isinstance(named, CfnCondition):
                found += _conjuncts(named)
    return found
