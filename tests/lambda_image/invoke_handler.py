"""Invoke the ParallelCluster API Lambda handler on a batch of events.

Runs INSIDE a venv made from the image's lock (see venv.py), never
in the project venv: it proves that the image's Python environment serves
requests. Standard library only, apart from the handler and (with "mock_aws")
moto.

    python invoke_handler.py REQUEST.json RESULTS.json

REQUEST.json: {"mock_aws": bool, "seed": [{"service", "operation", "params"}],
"events": {name: API Gateway REST API proxy event}, "without_node": [name],
"cdk_synth": bool}.
With mock_aws the seed calls and the events all run inside one moto mock_aws();
without it, any AWS call fails at once (see OFFLINE_ENV), so only events that
need no AWS belong there. The events named in without_node run first, with an
empty PATH (so no Node.js), in a cold handler. cdk_synth adds the result
"cdk_synth": the smallest CDK v1 synthesis through jsii and Node.js, which is
how ParallelCluster writes cluster and image templates.

RESULTS.json: {name: {"response": <handler return value>} or {"exception":
"<type>: <message>"}}. Results go to a file: the handler logs to stdout/stderr.
"""

import json
import os
import sys
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


def _invoke(events):
    # Imported only now, so that it sees the environment and (if any) the mock.
    from pcluster.api.awslambda.entrypoint import lambda_handler

    results = {}
    for name, event in events.items():
        try:
            results[name] = {"response": lambda_handler(event, FakeLambdaContext())}
        except Exception as exc:  # the handler re-raises what it cannot answer; the test asserts on it
            results[name] = {"exception": f"{type(exc).__name__}: {exc}"}
    return results


def _invoke_all(events, without_node):
    results = {}
    if without_node:
        # The handler builds its app on the first request and keeps it only once
        # built, so these find no app, fail to build one, and leave none behind.
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = ""
        results.update(_invoke({name: events[name] for name in without_node}))
        os.environ["PATH"] = path
    results.update(_invoke({name: e for name, e in events.items() if name not in without_node}))
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


def main(request_path, results_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(LAMBDA_ENV)

    if request.get("mock_aws"):
        import boto3
        from moto import mock_aws

        with mock_aws():
            for call in request.get("seed", []):
                client = boto3.client(call["service"], region_name=call.get("region", REGION))
                getattr(client, call["operation"])(**call["params"])
            results = _invoke_all(request["events"], request.get("without_node", []))
    else:
        if request.get("seed"):
            raise SystemExit("seed needs mock_aws")
        os.environ.update(OFFLINE_ENV)
        results = _invoke_all(request["events"], request.get("without_node", []))
    if request.get("cdk_synth"):
        results["cdk_synth"] = _cdk_synth()

    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
