"""Static extraction of the release's AWS calls: on the installed release, and on a small made-up one."""

from __future__ import annotations

import textwrap

import pytest

from tests.constructs_lib.parallelcluster_api.coverage import pcluster_calls
from tests.constructs_lib.parallelcluster_api.coverage.pcluster_calls import OUT_OF_SCOPE, UNKNOWN

pytestmark = pytest.mark.xdist_group("release_coverage")


@pytest.fixture(scope="module")
def release() -> pcluster_calls.Extraction:
    return pcluster_calls.extract()


def calls(extraction, wrapper):
    return {(c.service, c.operation, c.form) for c in extraction.calls if c.wrapper == wrapper}


def test_every_use_of_the_sdk_is_classified(release):
    assert release.unclassified == ()
    for use in release.no_request_uses:
        assert "region_name" in use or "constructor" in use or "boto3.dynamodb.conditions" in use, use


def test_each_form_of_call_is_found(release):
    assert calls(release, "ElbClient.describe_load_balancer") == {("elbv2", "DescribeLoadBalancers", "call")}
    assert calls(release, "Ec2Client.describe_subnets") == {("ec2", "DescribeSubnets", "reference")}  # _paginate_results
    assert calls(release, "Ec2Client._describe_images_with_pagination") == {("ec2", "DescribeImages", "paginator")}
    assert ("s3", "HeadObject", "transfer (download_file)") in calls(release, "S3Client.download_file")
    assert calls(release, "S3Client.create_presigned_url") == {("s3", "GetObject", "presigned URL")}
    assert calls(release, "DynamoResource.get_item") == {("dynamodb", "GetItem", "resource action")}
    assert calls(release, "S3Resource.is_empty") == {("s3", "ListObjects", "resource collection")}  # via get_bucket
    assert calls(release, "S3Resource.delete_object_versions") == {
        ("s3", "ListObjectVersions", "resource collection"),
        ("s3", "DeleteObjects", "resource batch action"),
    }
    assert calls(release, "StsClient.get_account_id") == {("sts", "GetCallerIdentity", "call")}


def test_parameters_the_code_writes_are_kept(release):
    (attribute,) = [c for c in release.calls if c.operation == "DescribeImageAttribute"]
    assert attribute.params == {"Attribute": "launchPermission", "ImageId": UNKNOWN} and attribute.params_complete
    (versions,) = [c for c in release.calls if c.wrapper == "S3Resource.delete_object_versions" and c.operation == "DeleteObjects"]
    assert versions.params["Delete"]["Objects"][0].keys() == {"Key", "VersionId"}
    (create,) = [c for c in release.calls if c.wrapper == "CfnClient.create_stack_from_url"]
    assert not create.params_complete  # **optional_args_with_value


def test_out_of_scope_code_is_not_extracted(release):
    assert not [c for c in release.calls if c.path.startswith(OUT_OF_SCOPE)]


def test_reachability_of_the_release(release):
    reach = release.reachability
    # 3.16 reads login node load balancers through tag:GetResources, no longer through DescribeTags.
    assert not reach["ElbClient.describe_tags"].reachable
    assert reach["ResourceGroupsTaggingApiClient.get_resources"].reachable
    assert "pcluster/models/login_nodes_status.py" in reach["ResourceGroupsTaggingApiClient.get_resources"].evidence
    # The build-image cleanup role is created from pcluster/imagebuilder_utils.py.
    assert "pcluster/imagebuilder_utils.py" in reach["IamClient.create_role"].evidence
    # A wrapper reached only through another wrapper.
    assert "reachable LogsClient" in reach["LogsClient.describe_log_groups"].evidence
    # The configure wizard's VPC factory runs only from the command line.
    vpc = reach["VpcFactory.create"]
    assert not vpc.reachable and "pcluster/cli/commands/configure/networking.py" in vpc.evidence
    # A boto3 call is not a reference to the wrapper of the same name.
    assert not reach["CfnClient.update_stack"].reachable


RELEASE_FILES = {
    "pcluster/__init__.py": "",
    "pcluster/aws/__init__.py": "",
    "pcluster/aws/common.py": """
        import boto3

        class Boto3Client:
            def __init__(self, client_name):
                self._client = boto3.client(client_name)
    """,
    "pcluster/aws/things.py": """
        from pcluster.aws.common import Boto3Client

        class CfnThing(Boto3Client):
            def __init__(self):
                super().__init__("cloudformation")

            def used(self):
                return self.helper()

            def helper(self):
                return self._client.describe_stacks(StackName="x")

            def shared_name(self):
                return self._client.list_stacks()

            def cli_only(self):
                return self._client.delete_stack(StackName="x")

            def odd(self):
                return self._client.some_attribute

        class Ec2Thing(Boto3Client):
            def __init__(self):
                super().__init__("ec2")

            def shared_name(self):
                return self._client.describe_vpcs()
    """,
    "pcluster/models/__init__.py": "",
    "pcluster/models/user.py": """
        import boto3
        from pcluster.aws.things import CfnThing, Ec2Thing

        def run(api):
            CfnThing().used()
            Ec2Thing()
            api.cfn.shared_name()
            boto3.set_stream_logger("x")
    """,
    "pcluster/cli/__init__.py": "",
    "pcluster/cli/main.py": """
        def main(api):
            api.cfn.cli_only()
    """,
}


@pytest.fixture
def made_up_release(tmp_path, release):
    for path, text in RELEASE_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text))
    (tmp_path / "botocore").symlink_to(release.site_packages / "botocore")
    (tmp_path / "boto3").symlink_to(release.site_packages / "boto3")
    return pcluster_calls.extract(tmp_path)


def test_made_up_release(made_up_release):
    extraction = made_up_release
    found = {(c.wrapper, c.operation) for c in extraction.calls}
    assert found == {
        ("CfnThing.helper", "DescribeStacks"),
        ("CfnThing.shared_name", "ListStacks"),
        ("CfnThing.cli_only", "DeleteStack"),
        ("Ec2Thing.shared_name", "DescribeVpcs"),
    }
    reach = extraction.reachability
    assert reach["CfnThing.helper"].reachable and "referenced by reachable CfnThing.used" in reach["CfnThing.helper"].evidence
    # One reference by name reaches both methods of that name (conservative).
    assert reach["CfnThing.shared_name"].reachable and reach["Ec2Thing.shared_name"].reachable
    assert not reach["CfnThing.cli_only"].reachable
    assert "only out of scope, at pcluster/cli/main.py:3" in reach["CfnThing.cli_only"].evidence
    # Anything the extraction cannot read is reported, never skipped.
    assert any("client attribute 'some_attribute'" in u for u in extraction.unclassified)
    assert any("boto3.set_stream_logger" in u for u in extraction.unclassified)
