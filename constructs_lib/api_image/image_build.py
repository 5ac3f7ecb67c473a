"""The API function's image, built in the account by EC2 Image Builder and kept current."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, Fn, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_imagebuilder as imagebuilder
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from constructs_lib.api_image.dockerfile import RecipeDockerfile
from constructs_lib.audit import ExplainedStatement, acknowledge_explained, policy_statement
from constructs_lib.conventions import Conventions
from constructs_lib.flags import NO, Flag
from constructs_lib.helper_function import HelperFunction

RUNTIME_DIR = Path(__file__).parent / "runtime"
# Image Builder's service-linked role (Image Builder user guide, "Using service-linked roles").
IMAGE_BUILDER_SERVICE = "imagebuilder.amazonaws.com"
IMAGE_BUILDER_SERVICE_ROLE = "AWSServiceRoleForImageBuilder"
# Instance metadata hops a container build needs with IMDSv2 (the instance, then Docker's bridge).
CONTAINER_BUILD_HOP_LIMIT = 2
# The actions of the AWS managed policy AmazonSSMManagedInstanceCore: Image Builder drives the
# build instance through the SSM agent (Image Builder instance profile documentation).
SSM_AGENT_ACTIONS = (
    "ssm:DescribeAssociation",
    "ssm:GetDeployablePatchSnapshotForInstance",
    "ssm:GetDocument",
    "ssm:DescribeDocument",
    "ssm:GetManifest",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:ListAssociations",
    "ssm:ListInstanceAssociations",
    "ssm:PutInventory",
    "ssm:PutComplianceItems",
    "ssm:PutConfigurePackageResult",
    "ssm:UpdateAssociationStatus",
    "ssm:UpdateInstanceAssociationStatus",
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
)


RECIPE_IMAGES_REASON = (
    "Each build adds an image whose version and build number are only known at run time; the "
    "wildcard covers the images of this stack's recipe only."
)
#: The tag the updater moves to the image the function runs; the lifecycle policy never expires it.
RUNNING_TAG = "function-running"
# Image Builder tags a container image <recipe version>-<build number> (the tag ImageUri names);
# the first build of a recipe, which the template names, is build 1.
FIRST_BUILD_TAG_PATTERN = "*-1"
# First builds kept: the current template's and the previous one's (an update's rollback re-applies
# the previous template, so the function may run that image again).
KEPT_FIRST_BUILDS = 2
# Other images kept, the newest first (each refresh of the image pushes one).
KEPT_IMAGES = 5


@dataclass(frozen=True)
class BuildNetworkChoice:
    """The VPC and subnet of the build instance, when ``given`` (else the default VPC)."""

    given: Flag = NO
    vpc_id: str = ""
    subnet_id: str = ""


class ApiImageBuild(Construct):
    """Builds the API function's container image into ``repository`` with EC2 Image Builder.

    An ``AWS::ImageBuilder::Image`` builds the first image during stack creation, so the image
    exists when the function is created; a preflight custom resource runs before it and fails the
    stack at once, naming the setting to change, when the build cannot work (no default VPC, no
    route to the internet, account settings that block it). An image pipeline rebuilds the image
    on demand (``aws imagebuilder start-image-pipeline-execution``). Image Builder reports each
    build on an encrypted SNS topic that only it may publish to, and a small function points the
    API function, by digest, at each new image of this recipe (:meth:`keep_function_current`).
    The construct adds the repository's lifecycle rules: old images expire, never the one the
    function runs nor the one the template names. The images that pipeline runs create are
    deleted with the stack; Image Builder's service-linked role, created if the account had none
    (the key of the topic must name it), is the account's and stays.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        recipe: RecipeDockerfile,
        recipe_version: str,
        repository: ecr.Repository,
        conventions: Conventions,
        network: BuildNetworkChoice | None = None,
    ) -> None:
        """Create the recipe, infrastructure, first image and pipeline.

        :param recipe: Dockerfile template, parent image and name of the container recipe.
        :param recipe_version: Semantic version of the recipe (the ParallelCluster version).
        :param repository: ECR repository the images are pushed to; this construct adds its
            lifecycle rules.
        :param conventions: How IAM roles and policies are named and log groups made.
        :param network: VPC and subnet of the build instance (the subnet needs internet access).
            Default: the default VPC.
        """
        super().__init__(scope, construct_id)
        self._conventions = conventions
        network = network or BuildNetworkChoice()
        stack_suffix = conventions.stack_id_suffix
        version_label = recipe_version.replace(".", "_")
        # Image Builder names are unique per account and Region: the stack id makes them ours.
        base_name = Fn.join("-", [f"ParallelClusterApi-{version_label}", stack_suffix])

        #: ARN of Image Builder's service-linked role, which publishes the build notifications.
        self.service_role_arn = (
            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
            f"{IMAGE_BUILDER_SERVICE}/{IMAGE_BUILDER_SERVICE_ROLE}"
        )
        service_role = self._ensure_service_role()
        self.key = kms.Key(
            self,
            "NotificationsKey",
            description="Encrypts the ParallelCluster API image build notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            # Deleted with the stack after the shortest waiting period KMS allows.
            pending_window=Duration.days(7),
        )
        # KMS refuses a key policy that names a principal that does not exist: the role first.
        self.key.node.add_dependency(service_role)
        # Image Builder publishes with its service-linked role, whose own policy grants no use of
        # this key: the key policy must grant it kms:Decrypt and kms:GenerateDataKey (Image Builder
        # user guide, "Encrypted SNS topics"). Naming the account root instead would only delegate
        # to IAM policies, and the service-linked role's policy has no KMS statement for this key.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ImageBuilderPublishes",
                principals=[iam.ArnPrincipal(self.service_role_arn)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "Notifications",
            display_name="ParallelCluster API image builds",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Only Image Builder may publish: it publishes with its service-linked role (whose policy
        # allows sns:Publish: Image Builder user guide, "AWSServiceRoleForImageBuilder policy"), so
        # any other principal of the account is denied, whatever its IAM policies allow. Not denied:
        # AWS services, and requests they make on a principal's behalf; CloudFormation's schema of
        # AWS::ImageBuilder::InfrastructureConfiguration lists sns:Publish among the permissions
        # its create and update handlers need, so Image Builder may check the deployer's right to
        # publish on its behalf. The updater trusts nothing in a message anyway (only its ARN).
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyImageBuilderPublishes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringNotEquals": {"aws:PrincipalArn": self.service_role_arn},
                    "Bool": {"aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"},
                },
            )
        )

        self.instance_role = iam.Role(
            self,
            "InstanceRole",
            role_name=conventions.iam_name("ParallelClusterApiImageBuilderRole"),
            description="Build instance of the ParallelCluster API image",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        )
        instance_profile = iam.CfnInstanceProfile(
            self, "InstanceProfile", roles=[self.instance_role.role_name]
        )

        self.security_group: ec2.CfnSecurityGroup | None = None
        build_security_groups: list[str] | None = None
        if network.given.possible:
            # Egress only, HTTPS only: the build pulls the base image, OS and Python packages
            # and talks to SSM and ECR, all over HTTPS; nothing connects to the instance.
            self.security_group = ec2.CfnSecurityGroup(
                self,
                "BuildSecurityGroup",
                vpc_id=network.vpc_id,
                group_description="ParallelCluster API image build instance: HTTPS egress only",
                security_group_egress=[
                    ec2.CfnSecurityGroup.EgressProperty(
                        ip_protocol="tcp", from_port=443, to_port=443, cidr_ip="0.0.0.0/0",
                        description="HTTPS to package registries and AWS endpoints",
                    )
                ],
            )
            build_security_groups = network.given.optional([self.security_group.attr_group_id])
            network.given.guard(self.security_group)

        self.infrastructure = imagebuilder.CfnInfrastructureConfiguration(
            self,
            "Infrastructure",
            name=base_name,
            description="Build instance of the ParallelCluster API image",
            instance_profile_name=instance_profile.ref,
            terminate_instance_on_failure=True,
            # IMDSv2 only. Docker on the build instance adds a network hop between a build step and
            # the instance metadata service, and the Image Builder API reference
            # (InstanceMetadataOptions) says that with tokens required, container builds need a hop
            # limit of at least two; the default of one fails the build.
            instance_metadata_options=imagebuilder.CfnInfrastructureConfiguration.InstanceMetadataOptionsProperty(
                http_tokens="required", http_put_response_hop_limit=CONTAINER_BUILD_HOP_LIMIT
            ),
            sns_topic_arn=self.topic.topic_arn,
            subnet_id=network.given.optional(network.subnet_id),
            security_group_ids=build_security_groups,
        )
        self.recipe = imagebuilder.CfnContainerRecipe(
            self,
            "Recipe",
            name=Fn.join("-", [recipe.name, stack_suffix]),
            version=recipe_version,
            description="ParallelCluster API Lambda image",
            container_type="DOCKER",
            parent_image=recipe.parent_image,
            dockerfile_template_data=recipe.template_data,
            target_repository=imagebuilder.CfnContainerRecipe.TargetContainerRepositoryProperty(
                service="ECR", repository_name=repository.repository_name
            ),
            platform_override="Linux",
            working_directory="/tmp",
        )
        preflight = self._check_build_network(network)
        tests_off = imagebuilder.CfnImage.ImageTestsConfigurationProperty(image_tests_enabled=False)
        self.image = imagebuilder.CfnImage(
            self,
            "Image",
            container_recipe_arn=self.recipe.attr_arn,
            infrastructure_configuration_arn=self.infrastructure.attr_arn,
            enhanced_image_metadata_enabled=True,
            image_tests_configuration=tests_off,
        )
        # A build that cannot work fails the stack in seconds, with the setting to change, rather
        # than after half an hour with Image Builder's message.
        self.image.node.add_dependency(preflight)
        # Images are named after their recipe: .../container-recipe/<name>/<version> builds
        # .../image/<name>/<version>/<build>.
        recipe_name = Fn.select(1, Fn.split("/", self.recipe.attr_arn))
        self._recipe_images_arn = f"arn:{Aws.PARTITION}:imagebuilder:{Aws.REGION}:{Aws.ACCOUNT_ID}:image/{recipe_name}/*"
        self._repository = repository
        self._retain_images(repository)
        self._grant_build(repository)
        self.pipeline = imagebuilder.CfnImagePipeline(
            self,
            "Pipeline",
            name=base_name,
            description="Rebuilds the ParallelCluster API image on demand",
            container_recipe_arn=self.recipe.attr_arn,
            infrastructure_configuration_arn=self.infrastructure.attr_arn,
            enhanced_image_metadata_enabled=True,
            image_tests_configuration=imagebuilder.CfnImagePipeline.ImageTestsConfigurationProperty(
                image_tests_enabled=False
            ),
            status="ENABLED",
        )
        #: URI of the image built during stack creation (``<repository uri>:<version>-<build>``).
        self.image_uri: str = self.image.attr_image_uri
        #: The function that keeps the API function current, once :meth:`keep_function_current` made it.
        self.updater: lambda_.Function | None = None
        self._delete_pipeline_images_with_the_stack()

    def keep_function_current(self, function: lambda_.IFunction) -> lambda_.IFunction:
        """Point ``function`` at each image this recipe makes available; return the updater.

        The updater trusts nothing in a notification but the image ARN: it reads the image from
        Image Builder, accepts it only if this stack's recipe and infrastructure built it into
        this stack's repository, tags it ``RUNNING_TAG`` and, for a pipeline's image, points the
        function at its digest, unless a newer build of the recipe is available; its updates of the
        function name the revision they checked (see ``runtime/update_function_image.py``).
        """
        repository = self._repository
        updater = self._helper_function(
            "ImageUpdater",
            source=RUNTIME_DIR / "update_function_image.py",
            description="Points the ParallelCluster API function at each new image build",
            environment={
                "FUNCTION_NAME": function.function_name,
                "RECIPE_ARN": self.recipe.attr_arn,
                "INFRASTRUCTURE_ARN": self.infrastructure.attr_arn,
                "PIPELINE_ARN": self.pipeline.attr_arn,
                "REPOSITORY_NAME": repository.repository_name,
                "REPOSITORY_URI": repository.repository_uri,
                "RUNNING_TAG": RUNNING_TAG,
            },
            # Room to wait for an update of the function in progress (ResourceConflictException).
            timeout=Duration.minutes(5),
            statements=[
                # GetImage on a build, ListImageBuildVersions on its recipe version
                # (image/<name>/<version>/*): both within the images of this stack's recipe.
                policy_statement(
                    sid="ReadRecipeImages",
                    actions=["imagebuilder:GetImage", "imagebuilder:ListImageBuildVersions"],
                    resources=[self._recipe_images_arn],
                    why=RECIPE_IMAGES_REASON,
                ),
                policy_statement(
                    sid="TagRunningImage",
                    actions=["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:PutImage"],
                    resources=[repository.repository_arn],
                ),
                policy_statement(
                    sid="UpdateFunction",
                    actions=["lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode"],
                    resources=[function.function_arn],
                ),
            ],
        )
        # Notifications SNS cannot deliver go to the updater's dead-letter queue too. The
        # subscription's invoke permission is limited to this topic (SourceArn).
        self.topic.add_subscription(
            subscriptions.LambdaSubscription(updater.function, dead_letter_queue=updater.dead_letter_queue)
        )
        self.updater = updater.function
        return updater.function

    def _retain_images(self, repository: ecr.Repository) -> None:
        """Expire old images, never the one the function runs nor the one the template names.

        ECR's lifecycle policy evaluation rules (ECR user guide, "How lifecycle policies work"): an
        image that matches the tag selection of a rule cannot be expired by a rule of lower
        priority, and rules are applied lowest priority number first. So the image tagged
        ``RUNNING_TAG`` (one image: a tag names one image) and the newest first builds match the
        first two rules, which never expire them, and the last rule (``any`` must come last)
        expires only the rest beyond the newest ``KEPT_IMAGES``.
        """
        repository.add_lifecycle_rule(
            rule_priority=1,
            description="Never expire the image the function runs",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=[RUNNING_TAG],
            max_image_count=1,
        )
        repository.add_lifecycle_rule(
            rule_priority=2,
            description=f"Keep the first build of the {KEPT_FIRST_BUILDS} newest recipes (the template's image)",
            tag_status=ecr.TagStatus.TAGGED,
            tag_pattern_list=[FIRST_BUILD_TAG_PATTERN],
            max_image_count=KEPT_FIRST_BUILDS,
        )
        repository.add_lifecycle_rule(
            rule_priority=3,
            description=f"Keep the newest {KEPT_IMAGES} images, and those the rules above keep",
            tag_status=ecr.TagStatus.ANY,
            max_image_count=KEPT_IMAGES,
        )

    def _grant_build(self, repository: ecr.Repository) -> None:
        """What the build instance needs: the SSM agent, the recipe, and pushing to the repository."""
        statements = [
            policy_statement(
                sid="SsmAgent",
                actions=SSM_AGENT_ACTIONS,
                resources=["*"],
                why="Image Builder drives the build instance through the SSM agent, whose actions have no "
                "resource-level permissions; these are the actions of AWS's AmazonSSMManagedInstanceCore policy.",
            ),
            policy_statement(
                sid="ReadRecipe", actions=["imagebuilder:GetContainerRecipe"], resources=[self.recipe.attr_arn]
            ),
            # The build downloads Image Builder's own tools (AWSTOE) from AWS's buckets, as the
            # AWS managed instance profile policies for Image Builder allow.
            policy_statement(
                sid="BuildTools",
                actions=["s3:GetObject"],
                resources=[f"arn:{Aws.PARTITION}:s3:::ec2imagebuilder*"],
                why="Image Builder's tools live in AWS-owned buckets named ec2imagebuilder-* per Region; the build "
                "may only read them.",
            ),
            policy_statement(
                sid="RegistryLogin",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
                why="ECR's GetAuthorizationToken has no resource-level permissions; pushing is limited to this "
                "stack's repository.",
            ),
            policy_statement(
                sid="PushImage",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                    "ecr:PutImage",
                ],
                resources=[repository.repository_arn],
            ),
            policy_statement(
                sid="BuildLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/imagebuilder/*"],
                why="Image Builder names the build's log group and streams at build time under /aws/imagebuilder/; "
                "the wildcard stays within that prefix, in this account and Region.",
            ),
        ]
        policy = iam.ManagedPolicy(
            self,
            "BuildPolicy",
            managed_policy_name=self._conventions.iam_name("ParallelClusterApiImageBuildPolicy"),
            description="ParallelCluster API image build instance - SSM agent, recipe, ECR push",
            roles=[self.instance_role],
            statements=[explained.statement for explained in statements],
        )
        acknowledge_explained(policy, statements)

    def _check_build_network(self, network: BuildNetworkChoice) -> CustomResource:
        """A custom resource that fails, naming the setting to change, when the build cannot work."""
        preflight = self._helper_function(
            "BuildPreflight",
            source=RUNTIME_DIR / "check_build_network.py",
            description="Checks that the ParallelCluster API image build can reach the internet",
            timeout=Duration.minutes(2),
            statements=[
                policy_statement(
                    sid="ReadNetworkAndAccountSettings",
                    actions=[
                        "ec2:DescribeVpcs",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeRouteTables",
                        "ec2:DescribeNatGateways",
                        "ec2:DescribeVpcBlockPublicAccessOptions",
                        "ec2:DescribeVpcBlockPublicAccessExclusions",
                        "ec2:GetAllowedImagesSettings",
                    ],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:RequestedRegion": Aws.REGION}},
                    why="EC2's Describe and Get actions and X-Ray's writes have no resource-level permissions; "
                    "the EC2 reads are limited to this Region and change nothing.",
                ),
            ],
        )
        checked = (
            {"VpcId": network.given.pick(network.vpc_id), "SubnetId": network.given.pick(network.subnet_id)}
            if network.given.possible
            else {}
        )
        return preflight.custom_resource(
            "Preflight",
            resource_type="Custom::ImageBuildPreflight",
            # The recipe: each new recipe (whose first build a stack update starts) is checked again.
            properties={**checked, "RecipeArn": self.recipe.attr_arn},
            service_timeout=Duration.minutes(5),
        )

    def _ensure_service_role(self) -> CustomResource:
        """Image Builder's service-linked role, created if the account has none yet."""
        setup = self._helper_function(
            "ServiceRoleSetup",
            source=RUNTIME_DIR / "ensure_service_linked_role.py",
            description="Creates Image Builder's service-linked role if the account has none",
            timeout=Duration.minutes(2),
            statements=[
                # Creating a service-linked role: IAM user guide, "Service-linked role permissions".
                policy_statement(
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[self.service_role_arn],
                    conditions={"StringEquals": {"iam:AWSServiceName": IMAGE_BUILDER_SERVICE}},
                ),
                policy_statement(actions=["iam:GetRole"], resources=[self.service_role_arn]),
            ],
        )
        return setup.custom_resource(
            "ServiceRole",
            resource_type="Custom::ServiceLinkedRole",
            properties={"ServiceName": IMAGE_BUILDER_SERVICE, "RoleName": IMAGE_BUILDER_SERVICE_ROLE},
            service_timeout=Duration.minutes(5),
        )

    def _delete_pipeline_images_with_the_stack(self) -> None:
        """Images made by pipeline runs are not stack resources; a custom resource deletes them."""
        cleaner = self._helper_function(
            "PipelineImagesCleanup",
            source=RUNTIME_DIR / "delete_pipeline_images.py",
            description="Deletes the ParallelCluster API pipeline's images when the stack is deleted",
            timeout=Duration.minutes(5),
            statements=[
                policy_statement(actions=["imagebuilder:ListImagePipelineImages"], resources=[self.pipeline.attr_arn]),
                policy_statement(
                    sid="DeletePipelineImages",
                    # Images still building are cancelled; they cannot be deleted yet.
                    actions=["imagebuilder:DeleteImage", "imagebuilder:CancelImageCreation"],
                    resources=[self._recipe_images_arn],
                    why=RECIPE_IMAGES_REASON,
                ),
            ],
        )
        cleaner.custom_resource(
            "PipelineImages",
            resource_type="Custom::PipelineImagesCleanup",
            properties={"ImagePipelineArn": self.pipeline.attr_arn},
            # A lost response fails the operation after this, not after CloudFormation's hour.
            service_timeout=Duration.minutes(10),
        )

    def _helper_function(
        self,
        construct_id: str,
        *,
        source: Path,
        description: str,
        timeout: Duration,
        statements: Sequence[ExplainedStatement],
        environment: dict[str, str] | None = None,
    ) -> HelperFunction:
        return HelperFunction(
            self,
            construct_id,
            source=source,
            description=description,
            timeout=timeout,
            conventions=self._conventions,
            statements=statements,
            environment=environment,
        )
