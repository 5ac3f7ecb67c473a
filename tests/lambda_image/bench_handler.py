"""Time the ParallelCluster API handler in one fresh process: the first call cold, the others warm.

Runs INSIDE a venv of the image (venv.py), for `make bench` (tools/handler_bench.py), with the
AWS calls going to a moto server whose process is not this one, so that what the account holds
outlives the process, as an account outlives a Lambda execution environment. Standard library
only, apart from what invoke_handler.py needs (its Lambda environment, context, stubs and
stand-in stacks are this driver's too).

    python bench_handler.py REQUEST.json RESULTS.json

REQUEST.json: {"endpoint": moto's URL, "moto_pid": its process, "events": [API Gateway proxy
event, ...], "stubs": [stub], "stand_in_outputs": {stack name: {output: value}}} (stubs and
stand-ins as invoke_handler.py describes them, placeholders already filled in).

RESULTS.json: one {"status", "message" (the answer's start), "cpu", "wall", "moto_cpu"} per
event, in order. The first call's
figures include importing the handler (with boto3), as a cold start's do. "cpu" is the CPU time
of this process and its children (Node.js, which jsii starts), without the stubs' and stand-ins'
own; "moto_cpu" is the moto server's CPU time during the call, with the stubs' and stand-ins'.
"""

import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import invoke_handler  # noqa: E402  (beside this file; no package in the venv)

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(parent pid, CPU seconds of the process and of its reaped children) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), sum(int(value) for value in fields[11:15]) / TICK


def _descendants_cpu():
    """CPU seconds of this process's live descendants (with the children each has reaped)."""
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                processes[int(entry)] = _stat(entry)
            except (OSError, IndexError):
                continue  # gone meanwhile
    family, grown = {os.getpid()}, True
    while grown:
        new = {pid for pid, (parent, _) in processes.items() if parent in family and pid not in family}
        family |= new
        grown = bool(new)
    return sum(cpu for pid, (_, cpu) in processes.items() if pid in family and pid != os.getpid())


def tree_cpu():
    """CPU seconds of this process, its reaped children and its live descendants: (now, and after
    reading them, which takes this process some more that no call should count)."""
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    now = own + children.ru_utime + children.ru_stime + _descendants_cpu()
    return now, now + time.process_time() - own


class TimedRecorder(invoke_handler.CallRecorder):
    """invoke_handler's stubs and stand-ins, with the CPU time they take (moto's share, not the handler's)."""

    seconds = 0.0

    def _before_parameter_build(self, **kwargs):
        start = time.thread_time()
        try:
            return super()._before_parameter_build(**kwargs)
        finally:
            self.seconds += time.thread_time() - start

    def _answer_from_stub(self, **kwargs):
        start = time.thread_time()
        try:
            return invoke_handler.CallRecorder._answer_from_stub(**kwargs)
        finally:
            self.seconds += time.thread_time() - start


def main(request_path, results_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    invoke_handler.lambda_environment()
    os.environ["AWS_ENDPOINT_URL"] = request["endpoint"]
    moto_pid = request["moto_pid"]

    results = []
    recorder = TimedRecorder()
    (_, cpu), wall, moto = tree_cpu(), time.perf_counter(), _stat(moto_pid)[1]
    recorder.install(request["stubs"], True, request["stand_in_outputs"])
    from pcluster.api.awslambda.entrypoint import lambda_handler

    for event in request["events"]:
        recorder.start()
        try:
            answer = lambda_handler(event, invoke_handler.FakeLambdaContext())
            status, message = answer["statusCode"], answer["body"][:300]
        except Exception as exc:  # noqa: BLE001  (reported; the bench refuses a run that failed)
            status, message = None, f"{type(exc).__name__}: {exc}"
        recorder.stop()
        now_wall, now_moto = time.perf_counter(), _stat(moto_pid)[1]
        now_cpu, after_reading = tree_cpu()
        stand_ins, recorder.seconds = recorder.seconds, 0.0
        results.append({
            "status": status,
            "message": message,
            "cpu": round(now_cpu - cpu - stand_ins, 3),
            "wall": round(now_wall - wall, 3),
            "moto_cpu": round(now_moto - moto + stand_ins, 3),
        })
        cpu, moto = after_reading, now_moto
        wall = time.perf_counter()

    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
