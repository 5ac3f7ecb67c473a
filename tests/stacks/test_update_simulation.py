"""The update simulation itself: it reports what breaks an update, and nothing else."""

from __future__ import annotations

import copy
import hashlib

from tests.conftest import STACK_ID
from tests.stacks.official_facts import api_facts, official_parameters, official_stack
from tests.stacks.update_simulation import StackState, simulate


def test_an_update_to_the_same_stack_changes_nothing():
    stack = official_stack("custom-domain-zone")
    report = simulate(stack, stack)
    assert report.problems == []
    assert report.replaced == report.created == report.deleted == set()


def test_a_role_under_another_logical_id_claims_the_name_the_old_one_holds():
    old = official_stack("defaults")
    resources = copy.deepcopy(old.resources)
    resources["UserRole"] = resources.pop("ParallelClusterApiUserRole")
    outputs = copy.deepcopy(old.outputs)
    outputs["ParallelClusterApiUserRole"]["Value"] = "<UserRole.Arn>"
    report = simulate(old, StackState(resources, outputs))
    assert report.claims == [
        "UserRole: the new resource claims AWS::IAM::Role 'pcapiuserrole-8131d980-7fb5-11ee-9589-0a6424944f95', "
        "which ParallelClusterApiUserRole still holds"
    ]
    assert report.lost == ["ParallelClusterApiUserRole: users reference it (AWS::IAM::Role), and the update deleted it"]
    assert report.exports == [
        "export ParallelClusterApi-ParallelClusterApiUserRole (ParallelClusterApiUserRole) changes from "
        "<ParallelClusterApiUserRole (existing).Arn> to <UserRole (new).Arn>"
    ]


def test_a_replacement_spreads_to_what_names_the_replaced_resource():
    """A function that becomes an image is replaced (PackageType is create-only), and so is its log group."""
    old = official_stack("defaults")
    resources = copy.deepcopy(old.resources)
    resources["ParallelClusterFunction"]["Properties"] = {"PackageType": "Image"}
    report = simulate(old, StackState(resources, old.outputs))
    assert report.replaced == {"ParallelClusterFunction", "ParallelClusterFunctionLogGroup"}
    assert report.lost == [
        "ParallelClusterFunctionLogGroup: users reference it (AWS::Logs::LogGroup), and the update replaced it"
    ]
    resources["ParallelClusterFunctionLogGroup"]["UpdateReplacePolicy"] = "Retain"
    kept = simulate(old, StackState(resources, old.outputs))
    assert kept.retained == {"ParallelClusterFunctionLogGroup"} and kept.lost == []


def test_a_stage_of_the_same_api_under_another_logical_id_claims_its_name():
    old = official_stack("defaults")
    resources = copy.deepcopy(old.resources)
    resources["ProdStage"] = resources.pop("ApiGatewayApiWithoutCustomDomainStage")
    report = simulate(old, StackState(resources, old.outputs))
    assert report.claims == [
        "ProdStage: the new resource claims AWS::ApiGateway::Stage '<ApiGatewayApiWithoutCustomDomain (existing)>' "
        "'prod', which ApiGatewayApiWithoutCustomDomainStage still holds"
    ]


def test_a_type_change_is_reported():
    old = official_stack("custom-domain-zone")
    resources = copy.deepcopy(old.resources)
    (record_group,) = [logical_id for logical_id in resources if logical_id.startswith("RecordSetGroup")]
    resources[record_group]["Type"] = "AWS::Route53::RecordSet"
    assert simulate(old, StackState(resources, old.outputs)).type_changes == [
        f"{record_group}: type AWS::Route53::RecordSetGroup becomes AWS::Route53::RecordSet "
        "(CloudFormation cannot update a resource's type)"
    ]


def test_the_custom_domain_resources_are_named_after_the_values_as_sam_names_them():
    """SAM's ids: its prefix and the first 10 hex digits of the SHA-1 of the value (logical_id_generator.py)."""
    stack = official_stack("custom-domain-zone")
    parameters = official_parameters("custom-domain-zone")
    domain = hashlib.sha1(parameters["CustomDomainName"].encode()).hexdigest()[:10]
    zone = hashlib.sha1(parameters["CustomDomainHostedZoneId"].encode()).hexdigest()[:10]
    assert {f"ApiGatewayDomainName{domain}", f"RecordSetGroup{zone}"} <= set(stack.resources)


def test_the_facts_are_resolved_for_the_stack_the_tests_deploy():
    assert api_facts()["stack_id"] == STACK_ID
