"""The stack that replaces the official ParallelCluster API template."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import cdk_nag
from aws_cdk import App, Aws, CfnOutput, Stack, Validations
from constructs import Construct

from constructs_lib import ParallelClusterApi, audit
from constructs_lib.parallelcluster_api.api import official_api_definition_s3_uri
from constructs_lib.versions import DEFAULT_PARALLELCLUSTER_VERSION
from stacks import outputs
from stacks.settings import Settings

NAG_PACKS = {
    audit.AWS_SOLUTIONS: cdk_nag.AwsSolutionsChecks,
    audit.SERVERLESS: cdk_nag.ServerlessChecks,
    audit.NIST_800_53_R5: cdk_nag.NIST80053R5Checks,
    audit.HIPAA: cdk_nag.HIPAASecurityChecks,
}


def add_nag_packs(app: App, packs: Sequence[str]) -> None:
    """Audit every synth with these cdk-nag packs: a finding not acknowledged fails the synth.

    Acknowledgements are written to each resource's metadata (``cdk_nag.rules_to_suppress``),
    where a reviewer reads the template.
    """
    for pack in packs:
        Validations.of(app).add_plugins(NAG_PACKS[pack](app, write_suppressions_to_cloud_formation=True))


class ParallelClusterApiStack(Stack):
    """The ParallelCluster API with the official template's outputs.

    The outputs keep the official names (and export names), so the ``describe-stacks`` commands
    of the ParallelCluster documentation work unchanged.
    """

    @classmethod
    def from_app_context(
        cls, app: App, *, deploy_region: str | None, deploy_account: str | None = None
    ) -> ParallelClusterApiStack:
        """The stack that the app's CDK context describes (see :class:`Settings`).

        The stack stays environment-agnostic, so that every ARN is built from the partition and
        Region pseudo parameters; ``deploy_region``, when known, only picks the default location
        of the OpenAPI spec (``AWS::Include`` cannot resolve ``AWS::Region`` in it), and
        ``deploy_account``, when known, which principals are of another account.
        """
        settings = Settings.from_context(app.node.get_all_context())
        settings.refuse_principals_of_other_accounts(deploy_account)
        add_nag_packs(app, settings.packs)
        if settings.api_definition_s3_uri is None and deploy_region:
            version = settings.parallelcluster_version or DEFAULT_PARALLELCLUSTER_VERSION
            settings = dataclasses.replace(
                settings, api_definition_s3_uri=official_api_definition_s3_uri(version, deploy_region)
            )
        return cls(app, settings=settings)

    def __init__(self, scope: Construct, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, settings.name, stack_name=settings.name, **kwargs)
        with settings.naming_keys():
            self.api = ParallelClusterApi(self, "Api", **settings.api_props(self))
        self.template_options.description = f"AWS ParallelCluster API {self.api.parallelcluster_version}"

        declare_outputs(self, self.api)


def declare_outputs(stack: Stack, api: ParallelClusterApi) -> None:
    """The official template's outputs (and export names), and ours; each only where its resource is.

    Where the API decides at deploy time (the portable template), an output carries the
    condition of the resource it names.
    """
    plan = api.plan
    CfnOutput(
        stack,
        outputs.INVOKE_URL,
        description="URL to reach the API endpoint",
        value=api.invoke_url,
        export_name=f"{Aws.STACK_NAME}-{outputs.INVOKE_URL}",
    )
    if api.api_user_role is not None:
        plan.front_end.user_role.guard(
            CfnOutput(
                stack,
                outputs.USER_ROLE,
                description="IAM role with permissions to invoke the ParallelCluster API",
                value=api.api_user_role.role_arn,
                export_name=f"{Aws.STACK_NAME}-{outputs.USER_ROLE}",
            )
        )
    if api.domain_target is not None:
        (plan.front_end.custom_domain & ~plan.front_end.has_hosted_zone).guard(
            CfnOutput(
                stack,
                outputs.DOMAIN_TARGET,
                description="Regional domain name to point the custom domain's DNS record at",
                value=api.domain_target,
            )
        )
    if api.image_build is not None:
        builds = plan.code.builds_in_account
        builds.guard(
            CfnOutput(
                stack,
                outputs.IMAGE_PIPELINE,
                description="Image Builder pipeline that rebuilds the API image for the deployed version",
                value=api.image_build.pipeline.attr_arn,
            ),
            CfnOutput(
                stack,
                outputs.IMAGE_URI,
                description="URI of the image the API function runs",
                value=api.image_build.image_uri,
            ),
        )
    CfnOutput(
        stack,
        outputs.LAMBDA_ARN,
        description="ARN of the ParallelCluster Lambda function",
        value=api.function.function_arn,
    )
    CfnOutput(
        stack,
        outputs.LAMBDA_LOG_GROUP,
        description="Log group of the Lambda function implementing the ParallelCluster API",
        value=api.log_group.log_group_name,
    )
