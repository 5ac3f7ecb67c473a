"""Clusters and images through the real handler under moto: the account they need and the requests.

The configurations are YAML files in pcluster_configs/. Their double-braced placeholders name the
resources seeded here (moto makes up their ids); invoke_handler.py fills them in after seeding.
What moto cannot answer as AWS would is answered by a stub, each with the reason (STUBS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from constructs_lib.versions import Release
from tests.lambda_image.events import ACCOUNT, IN_REGION, REGION, cluster_event, image_event, rest_event

CONFIG_DIR = Path(__file__).with_name("pcluster_configs")
# Configuration name (file stem) -> the request that creates it.
CLUSTER_CONFIGURATIONS = {"full-cluster": "full", "default-cluster": "default"}  # -> cluster name
# Created only by the releases that have the AWS Batch scheduler (Release.awsbatch).
AWSBATCH_CONFIGURATIONS = {"awsbatch-cluster": "batch"}
IMAGE_CONFIGURATIONS = {"build-image": "hpc-image"}  # -> image id
SCRIPTS_BUCKET = "hpc-scripts"
SCRIPTS = [
    "head/on-start.sh", "head/on-configured.sh", "head/second.sh", "head/on-updated.sh",
    "compute/on-start.sh", "compute/on-configured.sh", "login/on-start.sh", "image/install.sh",
]
# FSx ids are fs- and 17 hexadecimal digits (moto makes 8, which ParallelCluster's schema refuses).
EXISTING_FSX_ID = "fs-0123456789abcdef0"
OFFICIAL_AMI_ID = "ami-0a1b2c3d4e5f60718"
PARENT_AMI_ID = "ami-0f0e0d0c0b0a09080"
COMPONENT_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:component/hpc-tools/1.0.0/1"
VPC_CIDR = "10.0.0.0/16"
IMAGE_LOG_GROUP = "/aws/imagebuilder/ParallelClusterImage-hpc-image"
IMAGE_LOG_STREAM = "hpc-image/1"

VALUES = {
    "ScriptsBucket": SCRIPTS_BUCKET,
    "FsxFileSystemId": EXISTING_FSX_ID,
    "ParentAmiId": PARENT_AMI_ID,
    "ComponentArn": COMPONENT_ARN,
}


def _ec2(operation: str, params: dict[str, Any], save: dict[str, str] | None = None) -> dict[str, Any]:
    return {"service": "ec2", "operation": operation, "params": params, **({"save": save} if save else {})}


def _head_node(cluster_name: str, instance_type: str, save_as: str) -> dict[str, Any]:
    """The head node CloudFormation would launch for a cluster (update-cluster reads it)."""
    return _ec2("run_instances", {
        "ImageId": OFFICIAL_AMI_ID, "InstanceType": instance_type, "MinCount": 1, "MaxCount": 1, "SubnetId": "{{PublicSubnetId}}",
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": "HeadNode"},
            {"Key": "parallelcluster:cluster-name", "Value": cluster_name},
            {"Key": "parallelcluster:node-type", "Value": "HeadNode"},
        ]}],
    }, {save_as: "Instances.0.InstanceId"})


def _security_group(name: str, port_from: int, port_to: int) -> list[dict[str, Any]]:
    """A security group that admits the VPC on a port range (what a file system's owner sets up)."""
    group_id = f"{name}SecurityGroupId"
    return [
        _ec2("create_security_group", {"GroupName": name, "Description": name, "VpcId": "{{VpcId}}"}, {group_id: "GroupId"}),
        _ec2("authorize_security_group_ingress", {
            "GroupId": "{{" + group_id + "}}",
            "IpPermissions": [{"IpProtocol": "tcp", "FromPort": port_from, "ToPort": port_to, "IpRanges": [{"CidrIp": VPC_CIDR}]}],
        }),
    ]


# A VPC as ParallelCluster's documentation asks for one: DNS support and host names, a public subnet
# (internet gateway) for the head node and login nodes, a private one (NAT gateway) for compute nodes;
# then what the configurations name: a key pair, a KMS key, an existing EBS volume, EFS file system
# (with a mount target admitting NFS), an FSx network interface admitting Lustre, custom action scripts.
SEED: list[dict[str, Any]] = [
    _ec2("create_vpc", {"CidrBlock": VPC_CIDR}, {"VpcId": "Vpc.VpcId"}),
    _ec2("modify_vpc_attribute", {"VpcId": "{{VpcId}}", "EnableDnsSupport": {"Value": True}}),
    _ec2("modify_vpc_attribute", {"VpcId": "{{VpcId}}", "EnableDnsHostnames": {"Value": True}}),
    _ec2("create_internet_gateway", {}, {"InternetGatewayId": "InternetGateway.InternetGatewayId"}),
    _ec2("attach_internet_gateway", {"InternetGatewayId": "{{InternetGatewayId}}", "VpcId": "{{VpcId}}"}),
    _ec2("create_subnet", {"VpcId": "{{VpcId}}", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": f"{REGION}a"},
         {"PublicSubnetId": "Subnet.SubnetId"}),
    _ec2("create_subnet", {"VpcId": "{{VpcId}}", "CidrBlock": "10.0.16.0/20", "AvailabilityZone": f"{REGION}a"},
         {"PrivateSubnetId": "Subnet.SubnetId"}),
    _ec2("modify_subnet_attribute", {"SubnetId": "{{PublicSubnetId}}", "MapPublicIpOnLaunch": {"Value": True}}),
    _ec2("create_route_table", {"VpcId": "{{VpcId}}"}, {"PublicRouteTableId": "RouteTable.RouteTableId"}),
    _ec2("create_route", {"RouteTableId": "{{PublicRouteTableId}}", "DestinationCidrBlock": "0.0.0.0/0",
                          "GatewayId": "{{InternetGatewayId}}"}),
    _ec2("associate_route_table", {"RouteTableId": "{{PublicRouteTableId}}", "SubnetId": "{{PublicSubnetId}}"}),
    _ec2("allocate_address", {"Domain": "vpc"}, {"NatAllocationId": "AllocationId"}),
    _ec2("create_nat_gateway", {"SubnetId": "{{PublicSubnetId}}", "AllocationId": "{{NatAllocationId}}"},
         {"NatGatewayId": "NatGateway.NatGatewayId"}),
    _ec2("create_route_table", {"VpcId": "{{VpcId}}"}, {"PrivateRouteTableId": "RouteTable.RouteTableId"}),
    _ec2("create_route", {"RouteTableId": "{{PrivateRouteTableId}}", "DestinationCidrBlock": "0.0.0.0/0",
                          "NatGatewayId": "{{NatGatewayId}}"}),
    _ec2("associate_route_table", {"RouteTableId": "{{PrivateRouteTableId}}", "SubnetId": "{{PrivateSubnetId}}"}),
    _ec2("create_key_pair", {"KeyName": "hpc-key", "KeyType": "rsa"}, {"KeyName": "KeyName"}),
    _ec2("create_security_group", {"GroupName": "image-build", "Description": "image build", "VpcId": "{{VpcId}}"},
         {"BuildSecurityGroupId": "GroupId"}),
    _ec2("create_volume", {"AvailabilityZone": f"{REGION}a", "Size": 50, "VolumeType": "gp3"}, {"VolumeId": "VolumeId"}),
    {"service": "kms", "operation": "create_key", "params": {"Description": "cluster and image volumes"},
     "save": {"KmsKeyId": "KeyMetadata.KeyId", "KmsKeyArn": "KeyMetadata.Arn"}},
    {"service": "efs", "operation": "create_file_system", "params": {"CreationToken": "existing-efs"},
     "save": {"EfsFileSystemId": "FileSystemId"}},
    *_security_group("efs", 2049, 2049),
    {"service": "efs", "operation": "create_mount_target", "params": {
        "FileSystemId": "{{EfsFileSystemId}}", "SubnetId": "{{PrivateSubnetId}}", "SecurityGroups": ["{{efsSecurityGroupId}}"]}},
    *_security_group("fsx", 988, 1023),
    _ec2("create_network_interface", {"SubnetId": "{{PrivateSubnetId}}", "Groups": ["{{fsxSecurityGroupId}}"],
                                      "Description": "existing FSx for Lustre"}, {"FsxNetworkInterfaceId": "NetworkInterface.NetworkInterfaceId"}),
    {"service": "s3", "operation": "create_bucket", "params": {"Bucket": SCRIPTS_BUCKET}},
    *({"service": "s3", "operation": "put_object", "params": {"Bucket": SCRIPTS_BUCKET, "Key": key, "Body": "#!/bin/bash\n"}}
      for key in SCRIPTS),
    # What CloudFormation and the instances would make of the cluster "full" and the image build:
    # the head node (update-cluster reads it), and the build's log, which Image Builder writes.
    _head_node("full", "c5.xlarge", "HeadNodeInstanceId"),
    {"service": "logs", "operation": "create_log_group", "params": {"logGroupName": IMAGE_LOG_GROUP}},
    {"service": "logs", "operation": "create_log_stream", "params": {"logGroupName": IMAGE_LOG_GROUP, "logStreamName": IMAGE_LOG_STREAM}},
    {"service": "logs", "operation": "put_log_events", "params": {
        "logGroupName": IMAGE_LOG_GROUP, "logStreamName": IMAGE_LOG_STREAM,
        "logEvents": [{"timestamp": "{{NowMillis}}", "message": "Image build started"}]}},
]


# What CloudFormation would make of the AWS Batch cluster: its head node (update-cluster reads it),
# and its compute environment, named by the stack output BatchComputeEnvironmentArn
# (models/cluster_resources.py), which describe-cluster and update-cluster read (stubbed below).
_AWSBATCH_SEED: list[dict[str, Any]] = [_head_node("batch", "t3.medium", "BatchHeadNodeInstanceId")]
BATCH_COMPUTE_ENVIRONMENT_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:compute-environment/batch-compute-environment"
_AWSBATCH_STAND_IN_OUTPUTS = {"batch": {"BatchComputeEnvironmentArn": BATCH_COMPUTE_ENVIRONMENT_ARN}}


def seed(release: Release) -> list[dict[str, Any]]:
    """The account this release's scenarios run in."""
    return [*SEED, *(_AWSBATCH_SEED if release.awsbatch else [])]


def stubs(release: Release) -> list[dict[str, Any]]:
    """The answers moto cannot give for this release's scenarios (STUBS, and the Batch cluster's)."""
    return [*STUBS, *(_AWSBATCH_STUBS if release.awsbatch else [])]


def stand_in_outputs(release: Release) -> dict[str, dict[str, str]]:
    """Outputs of the stand-in stacks, by stack name (see invoke_handler.py)."""
    return _AWSBATCH_STAND_IN_OUTPUTS if release.awsbatch else {}


def amis(version: str) -> list[dict[str, Any]]:
    """The AMIs the account sees as owned by Amazon: ParallelCluster's official one, and a parent AMI."""
    common = {
        "public": True, "virtualization_type": "hvm", "architecture": "x86_64", "state": "available",
        "image_type": "machine", "root_device_type": "ebs", "root_device_name": "/dev/xvda", "sriov": "simple",
        "hypervisor": "xen", "creation_date": "2026-01-01T00:00:00.000Z",
    }
    return [
        # ParallelCluster finds its official AMI by name (pcluster/aws/ec2.py, get_official_image_id).
        {**common, "ami_id": OFFICIAL_AMI_ID, "owner_id": "247102896272", "description": "AWS ParallelCluster AMI",
         "name": f"aws-parallelcluster-{version}-amzn2023-hvm-x86_64-202601010000",
         "tags": {"parallelcluster:version": version}},
        {**common, "ami_id": PARENT_AMI_ID, "owner_id": "137112412989", "description": "Amazon Linux 2023 AMI",
         "name": "al2023-ami-2023.9.20260101.0-kernel-6.1-x86_64"},
    ]


# Answers moto cannot give as AWS does; the calls are still recorded as the handler made them.
STUBS: list[dict[str, Any]] = [
    {
        "service": "s3", "operation": "PutBucketPolicy", "response": {},
        "why": "moto evaluates a Deny statement whose condition does not hold (ParallelCluster's "
               "aws:SecureTransport=false) as denying every request to the bucket",
    },
    {
        "service": "ec2", "operation": "RunInstances", "match": {"DryRun": True},
        "error": {"Code": "DryRunOperation", "Message": "Request would have succeeded, but DryRun flag is set."},
        "status": 412,
        "why": "moto refuses block device mappings of instance store volumes (VirtualName without Ebs), "
               "which EC2 accepts; EC2 answers a dry run that would succeed with DryRunOperation",
    },
    {
        "service": "fsx", "operation": "DescribeFileSystems", "match": {"FileSystemIds": [EXISTING_FSX_ID]},
        "response": {"FileSystems": [{
            "OwnerId": ACCOUNT, "CreationTime": "2026-01-01T00:00:00Z", "FileSystemId": EXISTING_FSX_ID,
            "FileSystemType": "LUSTRE", "FileSystemTypeVersion": "2.15", "Lifecycle": "AVAILABLE",
            "StorageCapacity": 1200, "StorageType": "SSD", "VpcId": "{{VpcId}}", "SubnetIds": ["{{PrivateSubnetId}}"],
            "NetworkInterfaceIds": ["{{FsxNetworkInterfaceId}}"],
            "DNSName": f"{EXISTING_FSX_ID}.fsx.{REGION}.amazonaws.com",
            "ResourceARN": f"arn:aws:fsx:{REGION}:{ACCOUNT}:file-system/{EXISTING_FSX_ID}",
            "LustreConfiguration": {"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 125,
                                    "MountName": "abcdefgh", "DataCompressionType": "NONE"},
        }]},
        "why": "moto's FSx ids have 8 hexadecimal digits instead of 17, and its file systems lack "
               "Lifecycle, NetworkInterfaceIds and the Lustre MountName",
    },
    {
        "service": "cloudformation", "operation": "DeleteStack", "response": {},
        "why": "moto deletes a stack at once, so it can no longer be described by name; CloudFormation "
               "describes it as DELETE_IN_PROGRESS while it deletes the resources",
    },
]


# The AWS Batch cluster's answers that moto cannot give as AWS does.
_AWSBATCH_STUBS: list[dict[str, Any]] = [
    {
        "service": "batch", "operation": "CreateComputeEnvironment", "match": {"computeEnvironmentName": "dummy"},
        "error": {"Code": "ClientException", "Message": "Error executing request, Exception : Instance type can only "
                  "be one of [optimal, c5, c5.xlarge, c5.2xlarge, m5, r5], RequestId: 0f4e7c52-1a2b-4c3d-9e8f-123456789abc"},
        "status": 400,
        "why": "the awsbatch validators learn Batch's instance types from the refusal of a compute environment "
               "of a made-up type (pcluster/aws/batch.py, get_supported_instance_types_and_families); moto "
               "creates it instead",
    },
    {
        "service": "batch", "operation": "DescribeComputeEnvironments",
        "match": {"computeEnvironments": [BATCH_COMPUTE_ENVIRONMENT_ARN]},
        "response": {"computeEnvironments": [{
            "computeEnvironmentName": "batch-compute-environment", "computeEnvironmentArn": BATCH_COMPUTE_ENVIRONMENT_ARN,
            "type": "MANAGED", "state": "ENABLED", "status": "VALID",
            "computeResources": {
                "type": "EC2", "minvCpus": 0, "desiredvCpus": 0, "maxvCpus": 32, "instanceTypes": ["c5.xlarge", "c5.2xlarge"],
                "subnets": ["{{PrivateSubnetId}}"], "securityGroupIds": ["sg-0123456789abcdef0"],
                "instanceRole": f"arn:aws:iam::{ACCOUNT}:instance-profile/parallelcluster/batch/batch-compute",
            },
            "serviceRole": f"arn:aws:iam::{ACCOUNT}:role/parallelcluster/batch/batch-service",
        }]},
        "why": "the compute environment is a resource of the cluster's stack, which moto's stand-in does not create",
    },
]


def configuration(name: str) -> str:
    return (CONFIG_DIR / f"{name}.yaml").read_text(encoding="utf-8")


def cluster_configurations(release: Release) -> dict[str, str]:
    """The cluster configurations this release creates -> their cluster names."""
    return {**CLUSTER_CONFIGURATIONS, **(AWSBATCH_CONFIGURATIONS if release.awsbatch else {})}


def _create_cluster(config: str, *, dryrun: bool) -> dict[str, Any]:
    query = {**IN_REGION, **({"dryrun": "true"} if dryrun else {})}
    name = {**CLUSTER_CONFIGURATIONS, **AWSBATCH_CONFIGURATIONS}[config]
    return rest_event("POST", "/v3/clusters", query, body={"clusterName": name, "clusterConfiguration": configuration(config)})


def _build_image(config: str, *, dryrun: bool) -> dict[str, Any]:
    query = {**IN_REGION, **({"dryrun": "true"} if dryrun else {})}
    return rest_event("POST", "/v3/images/custom", query, body={
        "imageId": IMAGE_CONFIGURATIONS[config], "imageConfiguration": configuration(config)})


def updated_full_cluster() -> str:
    """The full cluster with more on-demand capacity: a compute fleet update ParallelCluster supports."""
    before = configuration("full-cluster")
    after = before.replace("MaxCount: 10", "MaxCount: 20", 1)
    assert after != before, "full-cluster.yaml no longer has the compute resource the update changes"
    return after


def updated_batch_cluster() -> str:
    """The Batch cluster with a larger compute environment: an update ParallelCluster supports."""
    before = configuration("awsbatch-cluster")
    after = before.replace("MaxvCpus: 32", "MaxvCpus: 64", 1)
    assert after != before, "awsbatch-cluster.yaml no longer has the compute resource the update changes"
    return after


FULL, DEFAULT, BATCH, IMAGE = "full", "default", "batch", "hpc-image"

# In order: each request sees what the ones before it created. Name -> (configuration, event).
_CLUSTER_EVENTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "create_full_cluster_dryrun": ("full-cluster", _create_cluster("full-cluster", dryrun=True)),
    "create_default_cluster_dryrun": ("default-cluster", _create_cluster("default-cluster", dryrun=True)),
    "create_full_cluster": ("full-cluster", _create_cluster("full-cluster", dryrun=False)),
    "create_default_cluster": ("default-cluster", _create_cluster("default-cluster", dryrun=False)),
    "describe_full_cluster": ("full-cluster", cluster_event("GET", FULL, query=IN_REGION)),
    "list_clusters_after_create": (None, rest_event("GET", "/v3/clusters", IN_REGION)),
    "describe_full_cluster_instances": ("full-cluster", cluster_event("GET", FULL, "/instances", IN_REGION)),
    "full_cluster_stack_events": ("full-cluster", cluster_event("GET", FULL, "/stackevents", IN_REGION)),
    "full_cluster_log_streams": ("full-cluster", cluster_event("GET", FULL, "/logstreams", IN_REGION)),
    "describe_full_compute_fleet": ("full-cluster", cluster_event("GET", FULL, "/computefleet", IN_REGION)),
    "update_full_cluster_dryrun": ("full-cluster", cluster_event(
        "PUT", FULL, query={**IN_REGION, "dryrun": "true"}, body={"clusterConfiguration": updated_full_cluster()})),
    "delete_full_cluster": ("full-cluster", cluster_event("DELETE", FULL, query=IN_REGION)),
}
_IMAGE_EVENTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "build_image_dryrun": ("build-image", _build_image("build-image", dryrun=True)),
    "build_image": ("build-image", _build_image("build-image", dryrun=False)),
    "describe_image": ("build-image", image_event("GET", IMAGE, query=IN_REGION)),
    "list_images_pending": (None, rest_event("GET", "/v3/images/custom", {**IN_REGION, "imageStatus": "PENDING"})),
    "list_images_available": (None, rest_event("GET", "/v3/images/custom", {**IN_REGION, "imageStatus": "AVAILABLE"})),
    "image_log_streams": ("build-image", image_event("GET", IMAGE, "/logstreams", IN_REGION)),
    "delete_image": ("build-image", image_event("DELETE", IMAGE, query=IN_REGION)),
}
# The AWS Batch cluster's requests, after the Slurm clusters' (Release.awsbatch).
_AWSBATCH_EVENTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "create_batch_cluster_dryrun": ("awsbatch-cluster", _create_cluster("awsbatch-cluster", dryrun=True)),
    "create_batch_cluster": ("awsbatch-cluster", _create_cluster("awsbatch-cluster", dryrun=False)),
    "describe_batch_cluster": ("awsbatch-cluster", cluster_event("GET", BATCH, query=IN_REGION)),
    "describe_batch_compute_fleet": ("awsbatch-cluster", cluster_event("GET", BATCH, "/computefleet", IN_REGION)),
    "update_batch_cluster_dryrun": ("awsbatch-cluster", cluster_event(
        "PUT", BATCH, query={**IN_REGION, "dryrun": "true"}, body={"clusterConfiguration": updated_batch_cluster()})),
    "delete_batch_cluster": ("awsbatch-cluster", cluster_event("DELETE", BATCH, query=IN_REGION)),
}


def events(release: Release) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """The requests of this release's scenarios, in order: name -> (configuration, event)."""
    return {**_CLUSTER_EVENTS, **(_AWSBATCH_EVENTS if release.awsbatch else {}), **_IMAGE_EVENTS}
