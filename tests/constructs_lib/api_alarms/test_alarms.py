"""ApiAlarms in the template: every way the API fails silently raises a CloudWatch alarm, to the topic when set."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns

from constructs_lib import InvalidSettingError, ParallelClusterApi
from tests.cloudformation import Deployment
from tests.conftest import PSEUDO_PARAMETERS, render, synthesize
from tests.stacks.test_portable_template import portable
from tools.configurations import ALARM_TOPIC_ARN, CONFIGURATIONS

# The helper functions' dead-letter queues each have an alarm named after the helper.
DEAD_LETTER_ALARMS = {
    "AccountRoleSetterDeadLetters",
    "ImageBuildServiceRoleSetupDeadLetters",
    "ImageBuildBuildPreflightDeadLetters",
    "ImageBuildPipelineImagesCleanupDeadLetters",
    "ImageBuildImageUpdaterDeadLetters",
}
FUNCTION_ALARMS = {"FunctionErrors", "FunctionThrottles", "FunctionDuration"}


def alarms(synthesized) -> dict[str, dict]:
    """Alarms by the name they get in a stack called ParallelClusterApi, without that prefix."""
    found = {}
    for alarm in synthesized.resources("AWS::CloudWatch::Alarm").values():
        name = render(alarm["Properties"]["AlarmName"])
        assert name.startswith("ParallelClusterApi-")
        found[name.removeprefix("ParallelClusterApi-")] = alarm
    return found


def watched(alarm: dict) -> str:
    """The logical id of the queue or function an alarm watches."""
    (dimension,) = alarm["Properties"]["Dimensions"]
    value = dimension["Value"]
    return value["Fn::GetAtt"][0] if "Fn::GetAtt" in value else value["Ref"]


def assert_fires_at(alarm: dict, namespace: str, metric: str, statistic: str, threshold: float) -> None:
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"], properties["Statistic"]) == (namespace, metric, statistic)
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanOrEqualToThreshold", threshold)
    assert (properties["Period"], properties["EvaluationPeriods"]) == (300, 1)
    # Nothing happened is not a failure: no data keeps the alarm OK.
    assert properties["TreatMissingData"] == "notBreaching"
    assert "README: Operations, alarms" in properties["AlarmDescription"]


def test_the_default_template_has_every_alarm(default):
    assert set(alarms(default)) == DEAD_LETTER_ALARMS | FUNCTION_ALARMS | {"ImageUpdaterErrors"}


def test_any_message_in_any_dead_letter_queue_raises_its_alarm(default):
    on_queues = {name: alarm for name, alarm in alarms(default).items() if name.endswith("DeadLetters")}
    for alarm in on_queues.values():
        assert_fires_at(alarm, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 1)
        assert alarm["Properties"]["Dimensions"][0]["Name"] == "QueueName"
    # One alarm per queue, and every queue of the stack is a helper's dead-letter queue.
    assert sorted(watched(alarm) for alarm in on_queues.values()) == sorted(default.resources("AWS::SQS::Queue"))
    for resource in default.resources("AWS::Lambda::Function").values():
        queue = resource["Properties"].get("DeadLetterConfig", {}).get("TargetArn")
        if queue is not None:
            assert queue["Fn::GetAtt"][0] in {watched(alarm) for alarm in on_queues.values()}


def test_the_updaters_errors_raise_an_alarm(default):
    alarm = alarms(default)["ImageUpdaterErrors"]
    assert_fires_at(alarm, "AWS/Lambda", "Errors", "Sum", 1)
    updater = default.helper_function("api_image", "update_function_image")
    (updater_id,) = [key for key, value in default.template["Resources"].items() if value is updater]
    assert watched(alarm) == updater_id


def test_the_api_functions_errors_throttles_and_long_calls_raise_alarms(default):
    found = alarms(default)
    timeout_ms = default.template["Resources"]["ParallelClusterFunction"]["Properties"]["Timeout"] * 1000
    assert_fires_at(found["FunctionErrors"], "AWS/Lambda", "Errors", "Sum", 1)
    assert_fires_at(found["FunctionThrottles"], "AWS/Lambda", "Throttles", "Sum", 1)
    assert_fires_at(found["FunctionDuration"], "AWS/Lambda", "Duration", "Maximum", 0.9 * timeout_ms)
    assert {watched(found[name]) for name in FUNCTION_ALARMS} == {"ParallelClusterFunction"}


def test_without_a_topic_the_alarms_notify_nobody_and_say_so(default):
    for alarm in alarms(default).values():
        assert "AlarmActions" not in alarm["Properties"] and "OKActions" not in alarm["Properties"]
        acknowledged = {rule["id"] for rule in alarm["Metadata"]["cdk_nag"]["rules_to_suppress"]}
        assert acknowledged == {
            "NIST.800.53.R5::NIST.800.53.R5-CloudWatchAlarmAction", "HIPAA.Security::HIPAA.Security-CloudWatchAlarmAction"
        }


def test_with_a_topic_every_alarm_notifies_it_when_it_fires_and_when_it_is_over():
    assert CONFIGURATIONS["hardened"]["AlarmTopicArn"] == ALARM_TOPIC_ARN
    found = alarms(synthesize("hardened"))
    assert len(found) == len(DEAD_LETTER_ALARMS | FUNCTION_ALARMS) + 1
    for alarm in found.values():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [ALARM_TOPIC_ARN]
        assert "cdk_nag" not in alarm.get("Metadata", {}), "nothing to acknowledge"


def test_with_the_layer_the_alarms_follow_the_helpers_there_are():
    assert set(alarms(synthesize("layer"))) == {"AccountRoleSetterDeadLetters"} | FUNCTION_ALARMS
    assert set(alarms(synthesize("no-api-logging"))) == DEAD_LETTER_ALARMS - {"AccountRoleSetterDeadLetters"} | FUNCTION_ALARMS | {
        "ImageUpdaterErrors"}


def test_the_construct_refuses_a_topic_that_is_not_an_sns_topic():
    stack = cdk.Stack()
    queue = sns.Topic.from_topic_arn(stack, "NotATopic", "arn:aws:sqs:eu-west-1:123456789012:pcluster-alarms")
    with pytest.raises(InvalidSettingError, match="^alarm_topic: expected an SNS topic ARN"):
        ParallelClusterApi(stack, "Api", alarm_topic=queue)


@pytest.mark.xdist_group("portable_template")
@pytest.mark.parametrize(
    ("values", "alarm_count"),
    [
        ({"LambdaImageSource": "imagebuilder"}, 9),
        ({"LambdaImageSource": "imagebuilder", "AlarmTopicArn": ALARM_TOPIC_ARN}, 9),
        # The template's default code is the layer: no image build, no updater.
        ({}, 4),
        ({"ApiGatewayAccountRole": "none"}, 3),
    ],
)
def test_the_portable_templates_alarms_follow_its_parameters(values, alarm_count):
    """Where a parameter leaves a helper out, its alarm goes too; the topic parameter sets the actions."""
    template, _ = portable()
    deployment = Deployment(template, values, PSEUDO_PARAMETERS)
    created = [resource for resource in deployment.resources().values() if resource["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(created) == alarm_count
    for alarm in created:
        expected = [ALARM_TOPIC_ARN] if values.get("AlarmTopicArn") else None
        assert alarm["Properties"].get("AlarmActions") == alarm["Properties"].get("OKActions") == expected
