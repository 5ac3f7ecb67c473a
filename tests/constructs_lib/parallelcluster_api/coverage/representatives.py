"""Representative parameters of the release's calls, where ParallelCluster's own conventions name the resource.

The static extraction knows which operation a wrapper calls, not the values it passes. Where the
resource a call acts on follows ParallelCluster's naming conventions (read from the release's
``pcluster/constants.py``), this table gives representative values, so that the check evaluates the
call on a real ARN and with the tags it sets. One wrapper can have several variants when its callers
pass different things (an update with and without tags). Calls on resources users name (their
roles, keys, secrets, buckets of scripts) are left out: their ARNs are not the release's to decide,
and the check evaluates them without a resource.

Reviewed by reading each caller in the release (file:line in the descriptions are 3.16.1's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CLUSTER = "mycluster"
IMAGE_ID = "myimage"
# S3Bucket.get_bucket_name: parallelcluster-<16 hex digits of the account and Region hash>-<version>-do-not-delete.
BUCKET_HASH = "0123456789abcdef"
# generate_random_name_with_prefix: the cluster name and 16 random lower-case characters.
ARTIFACT_SUFFIX = "jfr4odbeonwb1w5k"
ACCOUNT_HASH = "1a2b3c4d"


@dataclass(frozen=True)
class Variant:
    """One way the release calls a wrapper."""

    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Path of the IAM role or instance profile that the call names by name only.
    iam_path: str = "/"
    #: The resource, when the parameters alone do not give it (with the reason in the description).
    resource: str | None = None
    #: Tags the resource already carries (``aws:ResourceTag/<key>``), e.g. a cluster stack's.
    resource_tags: Mapping[str, str] = field(default_factory=dict)


def representative_variants(
    constants: Mapping[str, Any], *, version: str, partition: str, region: str, account: str
) -> dict[str, list[Variant]]:
    """Wrapper qualified name -> its variants, for the release ``version`` (its S3 keys and tags name it)."""
    c = constants
    artifacts = c["PCLUSTER_S3_ARTIFACTS_DICT"]
    bucket = "-".join(["parallelcluster", BUCKET_HASH, c["PCLUSTER_S3_BUCKET_VERSION"], "do", "not", "delete"])
    cluster_dir = "/".join(
        [artifacts["root_directory"], version, artifacts["root_cluster_directory"], f"{CLUSTER}-{ARTIFACT_SUFFIX}"]
    )
    template_key = f"{cluster_dir}/templates/{artifacts['template_name']}"
    config_key = f"{cluster_dir}/configs/{artifacts['config_name']}"
    table = f"{c['PCLUSTER_DYNAMODB_PREFIX']}{CLUSTER}"
    cluster_log_group = f"{c['CW_LOG_GROUP_NAME_PREFIX']}{CLUSTER}-202601011200"
    image_log_group = f"/aws/imagebuilder/{c['IMAGEBUILDER_RESOURCE_NAME_PREFIX']}-{IMAGE_ID}"
    # Image Builder lower-cases resource names in ARNs (the policies name parallelclusterimage-*).
    image_arn = (
        f"arn:{partition}:imagebuilder:{region}:{account}:image/"
        f"{c['IMAGEBUILDER_RESOURCE_NAME_PREFIX'].lower()}-{IMAGE_ID}/{version}/1"
    )
    cleanup_role = (
        f"{c['PCLUSTER_BUILD_IMAGE_CLEANUP_ROLE_PREFIX']}-{ACCOUNT_HASH}-v{c['PCLUSTER_BUILD_IMAGE_CLEANUP_ROLE_REVISION']}"
    )
    role_path = c["IAM_ROLE_PATH"]
    cluster_tags = [
        {"Key": c["PCLUSTER_CLUSTER_NAME_TAG"], "Value": CLUSTER},
        {"Key": c["PCLUSTER_VERSION_TAG"], "Value": version},
    ]
    image_tags = [
        {"Key": c["PCLUSTER_IMAGE_NAME_TAG"], "Value": IMAGE_ID},
        {"Key": c["PCLUSTER_VERSION_TAG"], "Value": version},
        {"Key": c["PCLUSTER_IMAGE_ID_TAG"], "Value": IMAGE_ID},
        {"Key": c["PCLUSTER_S3_BUCKET_TAG"], "Value": bucket},
    ]
    cluster_resource_tags = {tag["Key"]: tag["Value"] for tag in cluster_tags}
    image_resource_tags = {tag["Key"]: tag["Value"] for tag in image_tags}
    cluster_stack = {"StackName": CLUSTER}
    image_stack = {"StackName": IMAGE_ID}
    object_params = {"Bucket": bucket, "Key": template_key}
    return {
        # --- CloudFormation: cluster stacks are named after the cluster, image stacks after the image id.
        "CfnClient.create_stack_from_url": [
            Variant("create-cluster (models/cluster.py:387): tags from Cluster._get_cfn_tags", {**cluster_stack, "Tags": cluster_tags}),
            Variant("build-image (models/imagebuilder.py:474): tags from ImageBuilder._get_cfn_tags", {**image_stack, "Tags": image_tags}),
        ],
        # The stack exists: it carries the tags create-cluster gave it.
        "CfnClient.update_stack_from_url": [
            Variant(
                "update-cluster (models/cluster.py:898): tags from Cluster._get_cfn_tags",
                {**cluster_stack, "Tags": cluster_tags},
                resource_tags=cluster_resource_tags,
            ),
            Variant(
                "delete-cluster keeping logs (models/cluster.py:657, _update_stack_template): no Tags",
                cluster_stack,
                resource_tags=cluster_resource_tags,
            ),
        ],
        "CfnClient.delete_stack": [
            Variant("delete-cluster", cluster_stack, resource_tags=cluster_resource_tags),
            Variant("delete-image", image_stack, resource_tags=image_resource_tags),
        ],
        "CfnClient.describe_stack": [Variant("cluster stack", cluster_stack), Variant("image stack", image_stack)],
        "CfnClient.get_stack_events": [Variant("cluster stack", cluster_stack), Variant("image stack", image_stack)],
        "CfnClient.get_stack_template": [Variant("cluster stack (models/cluster.py:674)", cluster_stack)],
        "CfnClient.describe_stack_resources": [Variant("cluster stack", cluster_stack), Variant("image stack", image_stack)],
        "CfnClient.describe_stack_resource": [
            Variant("image stack (models/imagebuilder_resources.py:64)", {**image_stack, "LogicalResourceId": "ParallelClusterImage"})
        ],
        # --- S3: the account's ParallelCluster bucket and the cluster's artifact directory.
        "S3Client.head_bucket": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Client.head_object": [Variant("cluster artifact", object_params)],
        "S3Client.get_object": [Variant("cluster config", {"Bucket": bucket, "Key": config_key})],
        "S3Client.put_object": [Variant("cluster config", {"Bucket": bucket, "Key": config_key})],
        "S3Client.upload_fileobj": [Variant("cluster template", object_params)],
        "S3Client.upload_file": [Variant("cluster artifact", object_params)],
        "S3Client.download_file": [Variant("cluster artifact", object_params)],
        "S3Client.create_presigned_url": [Variant("cluster template URL handed to CloudFormation", object_params)],
        "S3Client.create_bucket": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Client.get_bucket_versioning_status": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Client.get_bucket_region": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Client.put_bucket_versioning": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Client.put_bucket_encryption": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Client.put_bucket_policy": [Variant("ParallelCluster bucket", {"Bucket": bucket})],
        "S3Resource.delete_object": [Variant("cluster artifact directory (models/s3_bucket.py:262)", {"Bucket": bucket})],
        "S3Resource.delete_object_versions": [Variant("cluster artifact directory (models/s3_bucket.py:263)", {"Bucket": bucket})],
        # --- DynamoDB: the compute fleet status table (ComputeFleetStatusManager).
        "DynamoResource.get_item": [Variant("compute fleet status table", {"TableName": table})],
        "DynamoResource.put_item": [Variant("compute fleet status table", {"TableName": table})],
        "DynamoResource.update_item": [Variant("compute fleet status table", {"TableName": table})],
        # --- CloudWatch Logs: the cluster's and the image's log groups.
        "LogsClient.delete_log_group": [Variant("image log group (models/imagebuilder.py:583)", {"logGroupName": image_log_group})],
        "LogsClient.filter_log_events": [
            Variant("cluster log group", {"logGroupName": cluster_log_group}),
            Variant("image log group", {"logGroupName": image_log_group}),
        ],
        "LogsClient.describe_log_streams": [
            Variant("cluster log group", {"logGroupName": cluster_log_group}),
            Variant("image log group", {"logGroupName": image_log_group}),
        ],
        "LogsClient.get_log_events": [
            Variant("cluster log stream", {"logGroupName": cluster_log_group, "logStreamName": "ip-10-0-0-1.i-0123456789abcdef0.cfn-init"}),
            Variant("image log stream", {"logGroupName": image_log_group, "logStreamName": f"{version}/1"}),
        ],
        "LogsClient.create_export_task": [Variant("cluster log group", {"logGroupName": cluster_log_group})],
        # --- Image Builder: the images the image stacks build.
        "ImageBuilderClient.get_image_resources": [Variant("image built by an image stack", {"imageBuildVersionArn": image_arn})],
        # --- IAM: the build-image cleanup role (imagebuilder_utils.ensure_default_build_image_stack_cleanup_role).
        "IamClient.get_role": [Variant("build-image cleanup role", {"RoleName": cleanup_role}, iam_path=role_path)],
        "IamClient.create_role": [
            Variant("build-image cleanup role (no PermissionsBoundary)", {"RoleName": cleanup_role, "Path": role_path})
        ],
        "IamClient.attach_role_policy": [
            Variant(
                "cleanup role: AWSLambdaBasicExecutionRole",
                {"RoleName": cleanup_role, "PolicyArn": f"arn:{partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
                iam_path=role_path,
            ),
            Variant(
                "cleanup role with LambdaFunctionsVpcConfig: AWSLambdaVPCAccessExecutionRole",
                {"RoleName": cleanup_role, "PolicyArn": f"arn:{partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"},
                iam_path=role_path,
            ),
        ],
        "IamClient.put_role_policy": [
            Variant("cleanup role inline policy", {"RoleName": cleanup_role, "PolicyName": "ParallelClusterCleanupInline"}, iam_path=role_path)
        ],
        "IamClient.tag_role": [
            Variant(
                "cleanup role bootstrap tag",
                {"RoleName": cleanup_role, "Tags": [{"Key": c["PCLUSTER_BUILD_IMAGE_CLEANUP_ROLE_BOOTSTRAP_TAG_KEY"], "Value": "true"}]},
                iam_path=role_path,
            )
        ],
    }
