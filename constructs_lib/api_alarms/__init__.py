"""CloudWatch alarms on the failures nothing else reports: dead letters, the updater's errors, the API function's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, CfnCondition, CfnResource, Duration, Fn
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from constructs_lib.audit import acknowledge
from constructs_lib.flags import NO, Flag
from constructs_lib.helper_function import HelperFunction
from constructs_lib.l1 import l1

#: Share of the API function's timeout from which its duration alarms: a call close to it is
#: about to time out (API Gateway then answers 504, Lambda reports an error).
DURATION_SHARE = 0.9
PERIOD = Duration.minutes(5)


class ApiAlarms(Construct):
    """One alarm per way the API fails silently, notifying an SNS topic when there is one.

    * ``<helper>DeadLetters``, one per helper function: a message in its dead-letter queue (an
      event that failed every retry: an image update, a custom resource request whose reply never
      went out). The alarm stays on while the message is in the queue.
    * ``ImageUpdaterErrors``: the image updater failed (it raises for Lambda to retry: throttling,
      an update of the API function still in progress when its time ran out).
    * ``FunctionErrors``, ``FunctionThrottles``, ``FunctionDuration``: the API function failed
      (crashed or timed out: API Gateway answered 502 or 504), was throttled (API Gateway answered
      429 or 500; reserved or account concurrency exhausted), or ran for ``DURATION_SHARE`` of its
      timeout or more.

    Each alarm evaluates one 5-minute period; missing data (nothing happened) is not breaching.
    Alarm names start with the stack's name. With ``topic``, every alarm notifies it when it goes
    to ALARM and back to OK; ``has_topic`` decides at deploy time in the portable template.
    Attributes: ``alarms`` (construct id to alarm).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_function: lambda_.Function,
        version_functions: Mapping[str, lambda_.Function],
        helpers: Sequence[HelperFunction],
        updater: lambda_.IFunction | None,
        topic: sns.ITopic | None,
        has_topic: Flag = NO,
    ) -> None:
        super().__init__(scope, construct_id)
        self._topic, self._has_topic = topic, has_topic
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for helper in helpers:
            queue = helper.dead_letter_queue
            if queue is None:
                continue  # invoked synchronously: its caller gets its errors
            name = "".join(helper.node.path[len(scope.node.path) + 1 :].split("/"))
            self._alarm(
                f"{name}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=1,
                description=(
                    f"{helper.function.node.path}: an event failed every attempt and waits in the dead-letter queue "
                    "(README: Operations, alarms). Read it (aws sqs receive-message), fix the cause, then delete it."
                ),
                source=queue,
            )
        if updater is not None:
            self._alarm(
                "ImageUpdaterErrors",
                updater.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                threshold=1,
                description=(
                    "The image updater failed; Lambda retries it twice, then its dead-letter queue alarms. See its "
                    "log group for the error (README: Operations, alarms)."
                ),
                source=updater,
            )
        self._function_alarms("Function", api_function, "The ParallelCluster API function")
        # Behind a router (the function above), each version's function.
        for version, function in version_functions.items():
            self._function_alarms(f"Function{version.replace('.', '')}", function, f"The ParallelCluster {version} API function")

    def _function_alarms(self, prefix: str, function: lambda_.Function, name: str) -> None:
        """``<prefix>Errors``, ``<prefix>Throttles`` and ``<prefix>Duration`` of an API function."""
        timeout = function.timeout
        assert timeout is not None  # the API construct gives its functions a timeout
        share = f"{DURATION_SHARE:.0%} of the function's {timeout.to_seconds():.0f} s timeout"
        for suffix, metric, threshold, description in (
            ("Errors", function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM), 1,
             f"{name} crashed or timed out (API Gateway answered 502 or 504). See the "
             "ParallelClusterLambdaLogGroup output's log group"),
            ("Throttles", function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM), 1,
             f"Lambda throttled {name[0].lower()}{name[1:]}: its reserved or the account's concurrency is used up"),
            ("Duration", function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
             int(timeout.to_milliseconds() * DURATION_SHARE), f"A ParallelCluster API call ran for {share} or more"),
        ):
            self._alarm(f"{prefix}{suffix}", metric, threshold=threshold, description=f"{description} (README: Operations, alarms).")

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        source: IConstruct | None = None,
    ) -> None:
        """An alarm at ``threshold`` or above; created only where ``source`` (its queue or function) is."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=Fn.join("-", [Aws.STACK_NAME, construct_id]),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        resource = l1(alarm, cloudwatch.CfnAlarm)
        if source is not None:
            # Where a deploy-time choice creates the queue or function, it creates its alarm too.
            resource.cfn_options.condition = _condition_of(source)
        if self._topic is not None and self._has_topic.possible:
            actions = self._has_topic.optional([self._topic.topic_arn])
            resource.alarm_actions = actions
            resource.ok_actions = actions
        if not self._has_topic.possible:
            acknowledge(
                alarm,
                "No AlarmTopicArn (construct: alarm_topic) was given: the alarm shows in the CloudWatch console "
                "and its history, and notifies nobody until a topic is set.",
                "NIST.800.53.R5-CloudWatchAlarmAction",
                "HIPAA.Security-CloudWatchAlarmAction",
            )
        self.alarms[construct_id] = alarm


def _condition_of(source: IConstruct) -> CfnCondition | None:
    """The CloudFormation condition of the queue or function ``source`` (None: always created)."""
    resource = source.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{source.node.path} has no CloudFormation resource of its own")
    return resource.cfn_options.condition
