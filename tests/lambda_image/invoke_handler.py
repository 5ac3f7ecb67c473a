"""Invoke the ParallelCluster API Lambda handler on a batch of events.

Runs INSIDE a venv made from the image's lock (see venv.py), never
in the project venv: it proves that the image's Python environment serves
requests. Standard library only, apart from the handler, PyYAML (a dependency
of ParallelCluster) and (with "mock_aws") moto.

    python invoke_handler.py REQUEST.json RESULTS.json

REQUEST.json: {"mock_aws": bool, "seed": [{"service", "operation", "params",
"region"?, "save"?}], "values": {name: value}, "amis": [moto AMI], "events":
{name: API Gateway REST API proxy event}, "without_node": [name], "cdk_synth":
bool, "record_calls": bool, "stubs": [stub], "stand_in_stacks": bool,
"stand_in_outputs": {stack name: {output: value}}}.

With mock_aws the seed calls and the events all run inside one moto mock_aws();
without it, any AWS call fails at once (see OFFLINE_ENV), so only events that
need no AWS belong there. A seed call's "save" ({"Name": "Dotted.Path"}) keeps a
value of its answer (e.g. "Subnet.SubnetId"); "{{Name}}" in the params of later
seed calls, in the stubs and anywhere in the events is replaced by it (or by
values[Name], or for NowMillis by the time of seeding). "amis" replaces moto's
AMIs, all owned by "amazon" (moto's MOTO_AMIS_PATH). Events run in order.
The events named in without_node run first, with an empty PATH (so no Node.js),
in a cold handler. cdk_synth adds the result "cdk_synth": the smallest CDK v1
synthesis through jsii and Node.js, which is how ParallelCluster writes cluster
and image templates.

With record_calls, a stub ({"service", "operation", "match"?: {param: value},
"response" or "error" and "status"}) answers the matching calls instead of
moto, and with stand_in_stacks the CreateStack calls of the handler create a
stand-in in moto (see CallRecorder._stand_in), with the outputs stand_in_outputs
gives its stack name.

RESULTS.json: {name: {"response": <handler return value>} or {"exception":
"<type>: <message>"}, with "seconds"}, plus "seeded": the saved values. With
record_calls, each event's result also has "calls": every AWS API call the
handler made while serving it, in order, as {"service" (botocore's service
name), "operation", "region" (the client's: "aws-global" for IAM), "params"
(request bodies summarized)}, and "templates": {S3 key: template} for each
CloudFormation template the handler uploaded to S3 (the top-level stack template
it passes to CreateStack by URL, and the nested stacks' templates). Results go
to a file: the handler logs to stdout/stderr.
"""

import contextlib
import datetime
import json
import os
import re
import sys
import time
import uuid

REGION = "us-east-1"

# What the Lambda runtime would give the function, without what makes the
# libraries believe they really run in Lambda. Set before anything imports boto3.
LAMBDA_ENV = {
    # The handler copies AWS_REGION into AWS_DEFAULT_REGION on every invocation;
    # without it every request ends in "Unexpected fatal exception" (KeyError).
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    # Fake credentials, so that nothing can act on a real account.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    # Powertools' Logger puts these in every log line (Lambda sets them).
    "AWS_LAMBDA_FUNCTION_NAME": "ParallelClusterFunction",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
    # Powertools traces only when LAMBDA_TASK_ROOT is set (the image sets it; it
    # is unset here). There is no X-Ray daemon here, so disable tracing outright too.
    "POWERTOOLS_TRACE_DISABLED": "true",
    # As the Dockerfile sets it: jsii 1.85 calls Node.js 24 untested on every start.
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
}
# Nothing from the developer's own AWS setup, nor the dev profile of the handler
# (PROFILE=dev turns on response validation and the Swagger UI).
UNSET = ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "LAMBDA_TASK_ROOT", "PROFILE")
# Without moto: send any AWS call to a closed loopback port, once, so that it
# fails fast and never leaves the machine.
OFFLINE_ENV = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}


class FakeLambdaContext:
    """What Powertools' inject_lambda_context reads from the Lambda context."""

    function_name = LAMBDA_ENV["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    memory_limit_in_mb = 2048
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2026/01/01/[$LATEST]0123456789abcdef"

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis():
        return 30_000


class CallRecorder:
    """Every AWS API call made through boto3's default session, attributed to the running event.

    ParallelCluster makes its clients with boto3.client() (pcluster/aws/common.py), so from the
    default session. A client copies its session's event handlers when it is made, so this is
    installed before the handler makes any client. botocore emits
    before-parameter-build.<service>.<operation> once per call (retries do not repeat it), with the
    caller's params and a context that names the client's Region; the same context then reaches
    before-call.<service>.<operation>, where a handler that returns (http response, parsed answer)
    stands in for the service, as botocore's own Stubber does.
    """

    def __init__(self):
        self.calls = None  # the running event's list; None: not recording (e.g. the seed calls)
        self.templates = None
        self.stubs = []
        self.stand_in_stacks = False
        self.stand_in_outputs = {}

    def install(self, stubs, stand_in_stacks, stand_in_outputs=None):
        import boto3

        self.stubs, self.stand_in_stacks = stubs, stand_in_stacks
        self.stand_in_outputs = stand_in_outputs or {}
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.*.*", self._before_parameter_build)
        boto3.DEFAULT_SESSION.events.register("before-call.*.*", self._answer_from_stub)

    def start(self):
        self.calls, self.templates = [], {}

    def stop(self):
        recorded = {"calls": self.calls, "templates": self.templates}
        self.calls = self.templates = None
        return recorded

    def _before_parameter_build(self, params, model, context, **_):
        service, operation = model.service_model.service_name, model.name
        context["stub"] = next(
            (
                stub for stub in self.stubs
                if (stub["service"], stub["operation"]) == (service, operation)
                and all(params.get(key) == value for key, value in stub.get("match", {}).items())
            ),
            None,
        )
        if self.calls is None:
            return
        if (service, operation) == ("s3", "PutObject"):
            self._keep_template(params)
        # Presigning a URL (e.g. the configuration URL of describe-cluster) emits this event too,
        # without the client's Region: whoever follows the URL acts with the function's credentials.
        region = context.get("client_region") or os.environ["AWS_DEFAULT_REGION"]
        self.calls.append({"service": service, "operation": operation, "region": region, "params": _json_safe(params)})
        if self.stand_in_stacks and (service, operation) == ("cloudformation", "CreateStack"):
            self._stand_in(params)

    @staticmethod
    def _answer_from_stub(context, **_):
        stub = context.get("stub")
        if stub is None:
            return None
        from botocore.awsrequest import AWSResponse

        if "error" in stub:  # botocore raises a ClientError for a status of 300 or more
            status = stub.get("status", 400)
            parsed = {"Error": dict(stub["error"]), "ResponseMetadata": {"HTTPStatusCode": status}}
            return AWSResponse(None, status, {}, None), parsed
        return AWSResponse(None, 200, {}, None), json.loads(json.dumps(stub["response"]))

    def _keep_template(self, params):
        body = params.get("Body")
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if not isinstance(body, str):
            return
        import yaml  # ParallelCluster uploads its templates as YAML or JSON (pcluster/models/s3_bucket.py)

        try:
            document = yaml.safe_load(body)
        except yaml.YAMLError:
            return
        if isinstance(document, dict) and isinstance(document.get("Resources"), dict):
            self.templates[params["Key"]] = document

    def _stand_in(self, params):
        """Let moto create a stand-in: the real template's parameters and the resources of STAND_IN_TYPES.

        moto's CloudFormation cannot create ParallelCluster's stacks (it skips resource types it
        does not model, then fails on references to them), so the stack that a real CreateStack
        makes would be missing for the requests that follow, which read its parameters, log
        groups, security groups and tables. The call is recorded as the handler made it.
        """
        url = (params.get("TemplateURL") or "").split("?")[0]
        template = next((t for key, t in self.templates.items() if url.endswith("/" + key)), None)
        if template is None:
            return
        parameters = template.get("Parameters", {})
        resources = {
            logical_id: resource for logical_id, resource in template["Resources"].items()
            if resource["Type"] in STAND_IN_TYPES
            and all(ref in parameters or ref.startswith("AWS::") for ref in _references(resource))
        }
        # moto lists a resource type it does not model without a logical id: only as a last resort.
        resources = resources or {"StandIn": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}
        # Outputs of resources the stand-in lacks, as CloudFormation would give them (seeded in moto).
        outputs = {
            key: {"Value": value}
            for key, value in self.stand_in_outputs.get(params.get("StackName"), {}).items()
            if key in template.get("Outputs", {})
        }
        del params["TemplateURL"]
        params["TemplateBody"] = json.dumps({"Parameters": parameters, "Resources": resources, "Outputs": outputs})


# Resources moto creates from a template as CloudFormation would, and that later requests read.
STAND_IN_TYPES = ("AWS::Logs::LogGroup", "AWS::EC2::SecurityGroup", "AWS::DynamoDB::Table")


def _references(value):
    """The names a template value refers to with Ref or Fn::GetAtt."""
    if isinstance(value, dict):
        if "Ref" in value:
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            yield target[0] if isinstance(target, list) else target.split(".")[0]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _json_safe(value):
    """The call's params as JSON: request bodies and streams are summarized, dates are ISO strings."""
    if isinstance(value, dict):
        return {k: (f"<{len(v)} bytes>" if k == "Body" and isinstance(v, (str, bytes)) else _json_safe(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return f"<{type(value).__name__}>"


RECORDER = CallRecorder()


def _invoke(events, recording):
    # Imported only now, so that it sees the environment and (if any) the mock.
    from pcluster.api.awslambda.entrypoint import lambda_handler

    results = {}
    for name, event in events.items():
        RECORDER.start()
        start = time.monotonic()
        try:
            results[name] = {"response": lambda_handler(event, FakeLambdaContext())}
        except Exception as exc:  # the handler re-raises what it cannot answer; the test asserts on it
            results[name] = {"exception": f"{type(exc).__name__}: {exc}"}
        results[name]["seconds"] = round(time.monotonic() - start, 2)
        recorded = RECORDER.stop()
        if recording:
            results[name].update(recorded)
    return results


def _invoke_all(events, without_node, recording=False):
    results = {}
    if without_node:
        # The handler builds its app on the first request and keeps it only once
        # built, so these find no app, fail to build one, and leave none behind.
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = ""
        results.update(_invoke({name: events[name] for name in without_node}, recording))
        os.environ["PATH"] = path
    results.update(_invoke({name: e for name, e in events.items() if name not in without_node}, recording))
    return results


def _cdk_synth():
    import subprocess
    import tempfile

    from aws_cdk.core import App, CfnResource, Stack

    with tempfile.TemporaryDirectory() as outdir:
        app = App(outdir=outdir)
        CfnResource(Stack(app, "Smoke"), "Handle", type="AWS::CloudFormation::WaitConditionHandle")
        template = app.synth().get_stack_by_name("Smoke").template
    return {"template": template, "node": subprocess.check_output(["node", "--version"], text=True).strip()}


PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _substitute(value, saved):
    """value with every "{{Name}}" in its strings replaced by the seeded value saved as Name."""
    if isinstance(value, str):
        def value_of(match):
            if match.group(1) not in saved:
                raise SystemExit(f"no seeded value named {match.group(1)!r} for {value!r}")
            return saved[match.group(1)]

        whole = PLACEHOLDER.fullmatch(value)
        if whole:  # the value itself, with its type (a number stays a number)
            return value_of(whole)
        return PLACEHOLDER.sub(lambda match: str(value_of(match)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, saved) for v in value]
    return value


def _dig(answer, path):
    for part in path.split("."):
        answer = answer[int(part)] if isinstance(answer, list) else answer[part]
    return answer


def _seed(calls, values):
    import boto3

    # CloudWatch Logs refuses events older than 14 days: seeded events are stamped now.
    saved = {"NowMillis": int(time.time() * 1000), **values}
    for call in calls:
        client = boto3.client(call["service"], region_name=call.get("region", REGION))
        answer = getattr(client, call["operation"])(**_substitute(call["params"], saved))
        for name, path in call.get("save", {}).items():
            saved[name] = _dig(answer, path)
    return saved


def lambda_environment():
    """The environment the Lambda runtime gives the function (LAMBDA_ENV), nothing of the developer's (UNSET)."""
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(LAMBDA_ENV)


def moto_settings(amis):
    """What moto's account holds from the start (read as moto loads its backends): ``amis``, AWS's managed policies."""
    if amis:
        # moto loads the AMIs of this file, all owned by "amazon", instead of its own list.
        path = os.path.abspath("moto-amis.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(amis, f)
        os.environ["MOTO_AMIS_PATH"] = path
    # As in a real account, the AWS managed policies exist (ParallelCluster attaches some).
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"


@contextlib.contextmanager
def mocked_account(request):
    """moto's mock_aws() holding the account of a mock_aws request; yields the values its seed calls saved.

    The account: "amis", AWS's managed policies, the "seed" calls with "values", and with
    "record_calls" the recorder, answering from "stubs" and creating stand-ins ("stand_in_stacks",
    with "stand_in_outputs").

    With "moto_endpoint" (a moto server's URL), the account is the server's, which other processes
    share (its "amis" and policies are the server's own settings): every AWS call goes there.
    """
    if request.get("moto_endpoint"):
        os.environ["AWS_ENDPOINT_URL"] = request["moto_endpoint"]
        mock = contextlib.nullcontext()
    else:
        moto_settings(request.get("amis"))
        from moto import mock_aws

        mock = mock_aws()
    with mock:
        saved = _seed(request.get("seed", []), request.get("values", {}))
        if request.get("record_calls"):
            # mock_aws() replaced boto3's default session: install on the one the handler will use.
            RECORDER.install(
                _substitute(request.get("stubs", []), saved),
                request.get("stand_in_stacks", False),
                _substitute(request.get("stand_in_outputs", {}), saved),
            )
        yield saved


def main(request_path, results_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    lambda_environment()

    recording = bool(request.get("record_calls"))
    if request.get("mock_aws"):
        with mocked_account(request) as saved:
            results = _invoke_all(_substitute(request["events"], saved), request.get("without_node", []), recording)
            results["seeded"] = saved
    else:
        if request.get("seed"):
            raise SystemExit("seed needs mock_aws")
        os.environ.update(OFFLINE_ENV)
        if recording:
            RECORDER.install(request.get("stubs", []), False)
        results = _invoke_all(request["events"], request.get("without_node", []), recording)
    if request.get("cdk_synth"):
        results["cdk_synth"] = _cdk_synth()

    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
