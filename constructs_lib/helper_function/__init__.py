"""The small Python functions that serve the stack (image updates, cleanups, account settings).

Each function's code is one module of a ``runtime/`` directory beside the construct that deploys
it, delivered inline in the template (``Code.ZipFile``): the template needs no asset bucket, and
the code a reviewer reads in the template is the code that runs. Shared runtime code (the
custom resource reply, ``runtime/cfn_response.py`` here) is spliced into each module that imports
it with ``from <shared module> import ...``, so the inline file stands alone.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib.audit import ExplainedStatement, acknowledge, acknowledge_explained
from constructs_lib.conventions import Conventions
from constructs_lib.managed_policy_role import ManagedPolicyRole

# The newest Python runtime Lambda offers; the helpers use the standard library and boto3 only.
HELPER_RUNTIME = lambda_.Runtime.PYTHON_3_14
SHARED_RUNTIME_DIR = Path(__file__).parent / "runtime"
# CloudFormation writes inline code to a file named index (Code.ZipFile documentation).
INLINE_MODULE = "index"
# Tracing lets every helper write to X-Ray on every resource.
TRACING_HAS_NO_RESOURCES = "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions"


def inline_source(handler_module: Path) -> str:
    """``handler_module``'s text with each shared runtime module it imports spliced in its place.

    ``from cfn_response import send_response`` becomes the body of ``runtime/cfn_response.py``
    (without its docstring and ``__future__`` import), itself with the shared modules it imports
    spliced in (``custom_resource`` imports ``cfn_response``). Each shared module is spliced once,
    where it is first imported; a later import of it goes, its names being bound above. A top-level
    name both a file and a module spliced into it bind must be the same import in both, so that
    splicing cannot change what either file means.
    """
    return _spliced(handler_module, {})


def _spliced(module: Path, spliced: dict[str, dict[str, str | None]]) -> str:
    """``module``'s text with its shared imports spliced in; ``spliced``: the shared modules spliced
    above this point of the inline file, with the names each binds there."""
    text = module.read_text()
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    shared = {path.stem: path for path in SHARED_RUNTIME_DIR.glob("*.py")}
    imports = [
        (node, node.module)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is not None and node.module in shared
    ]
    # Names imported from shared modules are bound by the splices themselves.
    from_shared = {alias.asname or alias.name for node, _ in imports for alias in node.names}
    own = {name: origin for name, origin in _bindings(tree).items() if name not in from_shared}
    replacements: list[tuple[ast.ImportFrom, list[str]]] = []
    for node, name in imports:
        replacement: list[str] = []
        if name not in spliced:
            spliced[name] = {}  # a module that imports this one back finds it spliced
            module_text = _spliced(shared[name], spliced)
            module_tree = ast.parse(module_text)
            spliced[name] = theirs = _bindings(module_tree)
            clashes = sorted(bound for bound in set(own) & set(theirs) if own[bound] != theirs[bound] or own[bound] is None)
            if clashes:
                raise ValueError(f"{module.name} and {name}.py both define {', '.join(clashes)}")
            body = [statement for statement in module_tree.body if not _is_docstring(statement) and not _is_future(statement)]
            replacement = [
                f"# ---- {name}.py, shared by this project's custom resources ----\n",
                "".join(module_text.splitlines(keepends=True)[body[0].lineno - 1 :]),
                f"# ---- end of {name}.py ----\n",
            ]
        missing = {alias.name for alias in node.names} - set(spliced[name])
        if missing:
            raise ValueError(f"{module.name}: {name} has no {', '.join(sorted(missing))}")
        replacements.append((node, replacement))
    # From the last import up, so that the line numbers of those above still hold.
    for node, replacement in reversed(replacements):
        lines[node.lineno - 1 : node.end_lineno] = replacement
    return "".join(lines)


def _bindings(tree: ast.Module) -> dict[str, str | None]:
    """Top-level names a module binds: to the import they come from, or None for its own definitions."""
    names: dict[str, str | None] = {}
    for statement in tree.body:
        if _is_future(statement):
            continue
        if isinstance(statement, ast.Import):
            names.update({(alias.asname or alias.name).split(".")[0]: alias.name for alias in statement.names})
        elif isinstance(statement, ast.ImportFrom):
            names.update({alias.asname or alias.name: f"{statement.module}.{alias.name}" for alias in statement.names})
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[statement.name] = None
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update({node.id: None for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)})
    return names


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


def _is_future(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.module == "__future__"


class HelperFunction(Construct):
    """A Python function from a module beside the construct that deploys it, delivered inline.

    ``source`` is the module; its ``handler`` function is the entry point. The function runs with
    a role of its own (named by the ``conventions``) whose permissions, ``statements``, live in a
    customer-managed policy, each with the reason for its wildcards beside it; logs to a log group
    of its own (the ``conventions``' retention and encryption), traces with X-Ray, and sends the
    events it failed to process to an encrypted dead-letter queue. A custom resource the function
    serves comes from :meth:`custom_resource`. Attributes: ``function``, ``role``,
    ``dead_letter_queue``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: Path,
        description: str,
        timeout: Duration,
        conventions: Conventions,
        statements: Sequence[ExplainedStatement] = (),
        environment: dict[str, str] | None = None,
    ) -> None:
        """:param statements: What the function may do. Tracing adds X-Ray's writes, on ``*``; a
            statement of ``statements`` on ``*`` shares that finding of cdk-nag (AwsSolutions-IAM5
            ``Resource::*``), so its reason says why both need every resource."""
        super().__init__(scope, construct_id)
        self._scope = scope
        # IAM names (with the caller's prefix, when it has one) derive from the construct id.
        self.role = ManagedPolicyRole(
            self,
            "Role",
            role_name=conventions.iam_name(f"ParallelClusterApi{construct_id}Role"),
            policy_name=conventions.iam_name(f"ParallelClusterApi{construct_id}Policy"),
            description=description,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letter_queue,
            "This queue is itself the dead-letter queue of a helper function; a queue behind it "
            "would only move the same failed events once more.",
            "Serverless-SQSRedrivePolicy",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=HELPER_RUNTIME,
            code=lambda_.Code.from_inline(inline_source(source)),
            handler=f"{INLINE_MODULE}.handler",
            description=description,
            timeout=timeout,
            memory_size=128,
            role=self.role,
            environment=environment,
            log_group=conventions.log_group(self, "Logs"),
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=self.dead_letter_queue,
        )
        acknowledge(
            self.function,
            "A helper that acts only on this stack's own resources through public AWS endpoints; "
            "a VPC would add NAT gateways or endpoints and protect nothing it holds.",
            "NIST.800.53.R5-LambdaInsideVPC",
            "HIPAA.Security-LambdaInsideVPC",
        )
        acknowledge(
            self.function,
            "The helper runs a few times per stack operation or image build; reserving "
            "concurrency would take it from the account's pool and fails in new accounts whose "
            "limit is 10.",
            "NIST.800.53.R5-LambdaConcurrency",
            "HIPAA.Security-LambdaConcurrency",
        )
        for explained in statements:
            self.function.add_to_role_policy(explained.statement)
        unscoped = [explained.why for explained in statements if "*" in explained.statement.resources]
        if None in unscoped:
            raise ValueError(f"{self.node.path}: a statement on every resource (*) needs its reason")
        acknowledge(
            self.role.policy,
            " ".join(str(why) for why in unscoped)
            or f"{TRACING_HAS_NO_RESOURCES}; the policy's other statements name this stack's resources.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        acknowledge_explained(
            self.role.policy, [explained for explained in statements if "*" not in explained.statement.resources]
        )

    def custom_resource(
        self, construct_id: str, *, resource_type: str, properties: Mapping[str, Any], service_timeout: Duration
    ) -> CustomResource:
        """A custom resource this function serves, made beside it (in the same scope).

        :param service_timeout: How long CloudFormation waits for the reply; beyond the function's
            timeout, room for Lambda's retries when the reply was lost.
        """
        return CustomResource(
            self._scope,
            construct_id,
            service_token=self.function.function_arn,
            resource_type=resource_type,
            properties=dict(properties),
            service_timeout=service_timeout,
        )
