"""Clusters and images through the real handler under moto (scenarios.py), as the API answers them.

Each request of scenarios.EVENTS went through the real handler, in order, in the moto batch; these
tests read its answers, the AWS calls it made and the templates it uploaded (batches.py).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from tests.lambda_image import scenarios
from tests.lambda_image.batches import SEEDED_CLUSTER
from tests.lambda_image.events import ACCOUNT, REGION

pytestmark = [pytest.mark.lambda_image, pytest.mark.xdist_group("lambda_image")]

DRYRUN_SUCCEEDED = "Request would have succeeded, but DryRun flag is set."


def answer(moto_handler_batch, name: str) -> tuple[int, dict[str, Any]]:
    results, logs = moto_handler_batch
    result = results[name]
    assert "response" in result, f"{name}: {result}\n{logs[-3000:]}"
    return result["response"]["statusCode"], json.loads(result["response"]["body"])


def calls_of(recorded_calls, name: str, operation: str) -> list[dict[str, Any]]:
    return [call["params"] for call in recorded_calls[name] if call["operation"] == operation]


def resource_types(template: dict[str, Any]) -> Counter:
    return Counter(resource["Type"] for resource in template["Resources"].values())


# ------------------------------------------------------------------------------------ clusters


@pytest.mark.parametrize("name", ["create_full_cluster_dryrun", "create_default_cluster_dryrun"])
def test_configurations_are_valid_for_this_release(moto_handler_batch, name):
    # A dry run validates everything a creation validates; nothing above INFO may remain.
    status, body = answer(moto_handler_batch, name)
    assert (status, body["message"]) == (412, DRYRUN_SUCCEEDED), body
    assert {m["level"] for m in body.get("validationMessages", [])} <= {"INFO"}, body


def test_dry_run_creates_nothing(recorded_calls):
    for name in ("create_full_cluster_dryrun", "create_default_cluster_dryrun", "update_full_cluster_dryrun"):
        changes = [c["operation"] for c in recorded_calls[name]
                   if not c["operation"].startswith(("Describe", "Get", "List", "Head")) and c["params"].get("DryRun") is not True]
        assert changes == [], name


def test_create_cluster_answers_202_and_creates_the_stack(moto_handler_batch, recorded_calls, served_release):
    configurations = scenarios.cluster_configurations(served_release)
    assert ("awsbatch-cluster" in configurations) == served_release.awsbatch
    for configuration, cluster_name in configurations.items():
        event = f"create_{cluster_name}_cluster"
        status, body = answer(moto_handler_batch, event)
        assert status == 202, body
        cluster = body["cluster"]
        assert cluster["clusterName"] == cluster_name
        assert cluster["cloudformationStackStatus"] == cluster["clusterStatus"] == "CREATE_IN_PROGRESS"
        scheduler = "awsbatch" if configuration == "awsbatch-cluster" else "slurm"
        assert cluster["scheduler"] == {"type": scheduler}
        assert cluster["version"] == served_release.version
        assert re.fullmatch(rf"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{cluster_name}/[-0-9a-f]+", cluster["cloudformationStackArn"])
        # Without a role for CloudFormation: it creates every resource with the caller's credentials.
        [create] = calls_of(recorded_calls, event, "CreateStack")
        assert "RoleARN" not in create
        assert create["StackName"] == cluster_name
        assert {"Key": "parallelcluster:cluster-name", "Value": cluster_name} in create["Tags"]
        assert {"Key": "parallelcluster:version", "Value": served_release.version} in create["Tags"]
        assert set(create["Capabilities"]) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}


def test_full_cluster_template_has_every_feature_of_its_configuration(pcluster_templates, moto_handler_batch):
    full = pcluster_templates["full-cluster"]
    seeded = moto_handler_batch[0]["seeded"]
    types = resource_types(full["stack"])
    for resource_type in ("AWS::EC2::Instance", "AWS::EC2::Volume", "AWS::EFS::FileSystem", "AWS::FSx::FileSystem",
                          "AWS::CloudWatch::Dashboard", "AWS::CloudWatch::CompositeAlarm", "AWS::Route53::HostedZone",
                          "AWS::DynamoDB::Table", "AWS::Lambda::Function"):
        assert types[resource_type] >= 1, resource_type
    assert types["AWS::CloudFormation::Stack"] == 2  # the queues and the login nodes
    # One managed file system of each kind, all encrypted with the customer key.
    for resource_type in ("AWS::EC2::Volume", "AWS::EFS::FileSystem", "AWS::FSx::FileSystem"):
        [managed] = [r for r in full["stack"]["Resources"].values() if r["Type"] == resource_type]
        assert managed["Properties"]["KmsKeyId"] == seeded["KmsKeyId"], resource_type
    nested = [resource_types(template) for template in full["nested"].values()]
    queues = next(t for t in nested if t["AWS::EC2::LaunchTemplate"] == 4)  # one per compute resource
    assert queues["AWS::EC2::PlacementGroup"] >= 1
    login = next(t for t in nested if t["AWS::AutoScaling::AutoScalingGroup"])
    assert login["AWS::ElasticLoadBalancingV2::LoadBalancer"] == 1
    # The configuration's own tag goes on the stack, and from there on every taggable resource.
    assert {"Key": "team", "Value": "hpc"} in full["stack_tags"]


def test_spot_queue_launches_spot_instances(pcluster_templates):
    [queues] = [t for t in pcluster_templates["full-cluster"]["nested"].values() if "AWS::EC2::PlacementGroup" in resource_types(t)]
    market = [
        r["Properties"]["LaunchTemplateData"].get("InstanceMarketOptions", {}).get("MarketType")
        for r in queues["Resources"].values() if r["Type"] == "AWS::EC2::LaunchTemplate"
    ]
    assert sorted(market, key=str) == [None, None, "spot", "spot"]


def test_default_cluster_template_has_no_storage_or_login_nodes(pcluster_templates):
    default = pcluster_templates["default-cluster"]
    types = resource_types(default["stack"])
    assert not {"AWS::EFS::FileSystem", "AWS::FSx::FileSystem", "AWS::EC2::Volume"} & set(types)
    assert types["AWS::CloudWatch::Dashboard"] == 1  # monitoring is on by default
    assert list(default["nested"]) and all(
        "AWS::AutoScaling::AutoScalingGroup" not in resource_types(t) for t in default["nested"].values())


def test_describe_cluster(moto_handler_batch):
    status, body = answer(moto_handler_batch, "describe_full_cluster")
    assert status == 200, body
    assert body["clusterName"] == "full"
    assert body["clusterStatus"] == "CREATE_COMPLETE"  # moto's stand-in stack is complete at once
    assert body["headNode"]["instanceId"] == moto_handler_batch[0]["seeded"]["HeadNodeInstanceId"]
    assert {"key": "team", "value": "hpc"} in body["tags"]
    assert body["clusterConfiguration"]["url"].startswith("https://parallelcluster-")


def test_list_clusters_after_create(moto_handler_batch):
    status, body = answer(moto_handler_batch, "list_clusters_after_create")
    assert status == 200, body
    assert sorted(c["clusterName"] for c in body["clusters"]) == sorted([SEEDED_CLUSTER, "full", "default"])


def test_cluster_instances_events_logs_and_fleet(moto_handler_batch):
    status, body = answer(moto_handler_batch, "describe_full_cluster_instances")
    assert status == 200, body
    assert [i["nodeType"] for i in body["instances"]] == ["HeadNode"]
    status, body = answer(moto_handler_batch, "full_cluster_stack_events")
    assert status == 200 and body["events"], body
    status, body = answer(moto_handler_batch, "full_cluster_log_streams")
    assert (status, body) == (200, {"logStreams": []})  # nothing has written to the cluster's log group
    status, body = answer(moto_handler_batch, "describe_full_compute_fleet")
    assert (status, body) == (200, {"status": "UNKNOWN"})  # the head node writes it, once running


def test_update_cluster_dry_run_reports_the_change(moto_handler_batch):
    status, body = answer(moto_handler_batch, "update_full_cluster_dryrun")
    assert (status, body["message"]) == (412, DRYRUN_SUCCEEDED), body
    assert body["changeSet"] == [{
        "parameter": "Scheduling.SlurmQueues[ondemand].ComputeResources[c5xlarge].MaxCount",
        "currentValue": "10",
        "requestedValue": "20",
    }]


def test_delete_cluster(moto_handler_batch, recorded_calls):
    status, body = answer(moto_handler_batch, "delete_full_cluster")
    assert status == 202, body
    assert body["cluster"]["clusterStatus"] == "DELETE_IN_PROGRESS"
    assert calls_of(recorded_calls, "delete_full_cluster", "DeleteStack") == [{"StackName": "full"}]


def test_awsbatch_cluster_lifecycle(moto_handler_batch, recorded_calls, pcluster_templates, served_release):
    """3.15 and older: an AWS Batch cluster is validated, created, described, resized (dry run) and deleted."""
    if not served_release.awsbatch:
        assert "awsbatch" not in json.dumps(pcluster_templates)  # 3.16 dropped the scheduler
        return
    status, body = answer(moto_handler_batch, "create_batch_cluster_dryrun")
    assert (status, body["message"]) == (412, DRYRUN_SUCCEEDED), body
    types = resource_types(pcluster_templates["awsbatch-cluster"]["stack"])
    for resource_type in ("AWS::Batch::ComputeEnvironment", "AWS::Batch::JobQueue", "AWS::Batch::JobDefinition",
                          "AWS::CodeBuild::Project", "AWS::ECR::Repository", "AWS::Events::Rule", "AWS::EFS::FileSystem"):
        assert types[resource_type] >= 1, resource_type
    status, body = answer(moto_handler_batch, "describe_batch_cluster")
    assert status == 200, body
    assert (body["scheduler"], body["computeFleetStatus"]) == ({"type": "awsbatch"}, "ENABLED")
    assert answer(moto_handler_batch, "describe_batch_compute_fleet")[1]["status"] == "ENABLED"
    status, body = answer(moto_handler_batch, "update_batch_cluster_dryrun")
    assert (status, body["message"]) == (412, DRYRUN_SUCCEEDED), body
    assert body["changeSet"] == [{
        "parameter": "Scheduling.AwsBatchQueues[batchqueue].ComputeResources[c5].MaxvCpus",
        "currentValue": "32",
        "requestedValue": "64",
    }]
    status, body = answer(moto_handler_batch, "delete_batch_cluster")
    assert (status, body["cluster"]["clusterStatus"]) == (202, "DELETE_IN_PROGRESS"), body
    assert calls_of(recorded_calls, "delete_batch_cluster", "DeleteStack") == [{"StackName": scenarios.BATCH}]


# -------------------------------------------------------------------------------------- images


def test_build_image(moto_handler_batch, recorded_calls, pcluster_templates, lambda_venvs):
    status, body = answer(moto_handler_batch, "build_image_dryrun")
    assert (status, body["message"]) == (412, DRYRUN_SUCCEEDED), body
    status, body = answer(moto_handler_batch, "build_image")
    assert status == 202, body
    assert body["image"]["imageId"] == scenarios.IMAGE
    assert body["image"]["version"] == lambda_venvs.version
    [create] = calls_of(recorded_calls, "build_image", "CreateStack")
    assert "RoleARN" not in create and create["StackName"] == scenarios.IMAGE
    image = pcluster_templates["build-image"]
    [recipe] = [r for r in image["stack"]["Resources"].values() if r["Type"] == "AWS::ImageBuilder::ImageRecipe"]
    assert recipe["Properties"]["ParentImage"] == scenarios.PARENT_AMI_ID
    assert {"ComponentArn": scenarios.COMPONENT_ARN} in recipe["Properties"]["Components"]
    [root] = recipe["Properties"]["BlockDeviceMappings"]
    assert root["Ebs"]["KmsKeyId"] == moto_handler_batch[0]["seeded"]["KmsKeyArn"]
    assert resource_types(image["stack"])["AWS::ImageBuilder::Image"] == 1


def test_build_image_dry_run_creates_the_shared_cleanup_role(recorded_calls):
    # Even a dry run makes the role that deletes image stacks (pcluster/imagebuilder_utils.py).
    [role] = calls_of(recorded_calls, "build_image_dryrun", "CreateRole")
    assert role["RoleName"].startswith("PClusterBuildImageCleanupRole-")
    assert role["Path"] == "/parallelcluster/"


def test_describe_list_and_delete_image(moto_handler_batch):
    status, body = answer(moto_handler_batch, "describe_image")
    assert status == 200, body
    assert body["imageId"] == scenarios.IMAGE
    assert body["imageBuildLogsArn"].endswith(f":log-group:{scenarios.IMAGE_LOG_GROUP}")
    for name in ("list_images_pending", "list_images_available"):
        # The stand-in stack is complete at once, and no AMI exists yet.
        assert answer(moto_handler_batch, name) == (200, {"images": []}), name
    status, body = answer(moto_handler_batch, "image_log_streams")
    assert status == 200, body
    assert [s["logStreamName"] for s in body["logStreams"]] == [scenarios.IMAGE_LOG_STREAM]
    status, body = answer(moto_handler_batch, "delete_image")
    assert status == 202, body
    assert body["image"]["imageBuildStatus"] == "DELETE_IN_PROGRESS"


# ---------------------------------------------------------------------------- the recording


def test_every_call_parallelcluster_makes_is_recorded(moto_handler_batch, recorded_calls):
    # ParallelCluster logs each call of its own clients (pcluster/aws/common.py, _log_boto3_calls,
    # in the function's JSON log lines); the recorder must have all of them, with the same Region.
    _, logs = moto_handler_batch
    logged = Counter(re.findall(
        r'^\{.*?"message":"Executing boto3 call: region=(\S+), service=\S+, operation=(\w+)', logs, re.M))
    recorded = Counter((call["region"], call["operation"]) for calls in recorded_calls.values() for call in calls)
    assert logged and logged - recorded == Counter()


def test_records_are_data(recorded_calls, served_release):
    for name, calls in recorded_calls.items():
        for call in calls:
            assert set(call) == {"service", "operation", "region", "params"}, (name, call)
    services = {call["service"] for calls in recorded_calls.values() for call in calls}
    assert {"ec2", "s3", "cloudformation", "iam", "kms", "efs", "fsx", "logs", "dynamodb", "sts"} <= services
    # What differs between the releases: Batch (versions.py), and how describe-cluster finds the login
    # nodes' load balancers: by the tagging API from 3.16, by listing them and their tags before.
    assert ("batch" in services) == served_release.awsbatch
    tagging_api = served_release.minor >= (3, 16)
    assert ("resourcegroupstaggingapi" in services) == tagging_api
    lists_load_balancers = any(
        (c["service"], c["operation"]) == ("elbv2", "DescribeLoadBalancers") for calls in recorded_calls.values() for c in calls
    )
    assert lists_load_balancers != tagging_api
