"""Every AWS operation the installed ParallelCluster release calls, read from its code with ``ast``.

The release is the one the API function runs: the ``image`` venv that reproduces the Lambda image
(``tests/lambda_image/venv.py``); the service and resource models are that venv's botocore and boto3,
so operation names are exactly those the release's SDK sends.

Scope: the code the API Lambda function runs, which is every module of the ``pcluster`` package but
two directories:

- ``pcluster/cli/``: the ``pcluster`` command line (argument parsing, the ``configure`` wizard,
  ``pcluster`` subcommands) runs on users' machines with their own credentials; the Lambda handler
  (``pcluster.api.awslambda.entrypoint``) goes through ``pcluster/api/`` and never imports it.
- ``pcluster/resources/custom_resources/custom_resources_code/``: code that cluster and image stacks
  deploy into their own Lambda functions; it runs with the roles those stacks create, not the API
  function's.

Forms of AWS calls recognized (each found in the 3.16 code):

1. ``Boto3Client`` subclasses (``pcluster/aws/*.py``): ``super().__init__("<service>")`` names the
   botocore service; in their methods, ``self._client.<operation>(...)``; a bare reference
   ``self._client.<operation>`` handed to ``self._paginate_results`` (which pages with
   ``get_paginator(method.__name__)``); ``self._client.get_paginator("<operation>")``; the S3 managed
   transfers ``download_file``/``upload_file``/``upload_fileobj`` (the requests s3transfer makes:
   :data:`TRANSFER_OPERATIONS`); ``generate_presigned_url("<operation>")``, whose request is later made
   by whoever holds the URL, signed with the function's credentials.
2. ``Boto3Resource`` subclasses: ``super().__init__("<service>")`` and chains from ``self._resource``
   resolved over boto3's resource model (``resources-1.json``): sub-resources (``Bucket(...)``,
   ``Table(...)``), actions (``get_item``), collections (``objects.filter(...)``, iterated: their list
   operation), batch actions (``objects.delete()``: list + ``DeleteObjects``), methods of the class that
   return such a chain (``get_bucket``) and local names bound to one.
3. ``boto3.client("<service>")`` / ``boto3.resource("<service>")`` assigned to a name or attribute
   anywhere else, then used as in 1 and 2.

Anything else that touches a client, a resource or ``boto3`` is reported in
:attr:`Extraction.unclassified` (the test requires it to be empty); uses of ``boto3`` that make no
request (reading the configured Region, building DynamoDB condition expressions) are listed in
:attr:`Extraction.no_request_uses`.

Reachability of each wrapper (the function or method that holds a call): a method is reachable when
its class is referenced (by name) in scope outside its own body, and its name is referenced (as an
attribute or a name) in scope outside the client classes, or inside a reachable wrapper. Matching by
name only is conservative: a name shared by two classes makes both reachable.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore import xform_name
from botocore.loaders import Loader

OUT_OF_SCOPE = ("pcluster/cli/", "pcluster/resources/custom_resources/custom_resources_code/")
CLIENT_BASE, RESOURCE_BASE = "Boto3Client", "Boto3Resource"
BASES_MODULE = "pcluster/aws/common.py"

# Requests the S3 managed transfers make (s3transfer, as the release pins it): a download heads the
# object for its size, then gets it (s3transfer/download.py); an upload puts the object below the
# multipart threshold, else creates, uploads and completes a multipart upload, and aborts it on a
# failure (s3transfer/upload.py, tasks.py).
_UPLOAD = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload")
TRANSFER_OPERATIONS = {
    "download_file": ("HeadObject", "GetObject"),
    "download_fileobj": ("HeadObject", "GetObject"),
    "upload_file": _UPLOAD,
    "upload_fileobj": _UPLOAD,
}
# Client attributes that make no request.
_NO_REQUEST_ATTRIBUTES = {"meta", "exceptions"}
# Collection methods that return the collection (each iterates with the collection's list operation).
_COLLECTION_METHODS = {"all", "filter", "limit", "page_size", "pages"}


class _Unknown:
    """A parameter value the code computes at run time."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()
# A transfer or presigned URL always names one object (Bucket and Key), known only at run time.
_OBJECT_PARAMS = {"Bucket": UNKNOWN, "Key": UNKNOWN}


@dataclass(frozen=True)
class StaticCall:
    """One AWS operation in the release's code."""

    service: str  # botocore service name (``elbv2``)
    operation: str  # PascalCase (``DescribeLoadBalancers``)
    path: str  # relative to site-packages (``pcluster/aws/elb.py``)
    line: int
    wrapper: str  # qualified name of the function or method holding the call (``ElbClient.describe_tags``)
    form: str  # how the code makes it (see the module docstring)
    #: Parameters the code passes, with literal values where it writes them and UNKNOWN elsewhere.
    params: Mapping[str, Any] = field(default_factory=dict)
    #: False when the code also passes parameters it computes (``**kwargs``).
    params_complete: bool = True

    @property
    def site(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    evidence: str


@dataclass(frozen=True)
class Extraction:
    site_packages: Path
    calls: tuple[StaticCall, ...]
    #: Wrapper qualified name -> whether code in scope can reach it, and why.
    reachability: Mapping[str, Reachability]
    unclassified: tuple[str, ...]
    no_request_uses: tuple[str, ...]

    @property
    def version(self) -> str:
        """The release's version, from its installed metadata."""
        (dist_info,) = self.site_packages.glob("aws_parallelcluster-*.dist-info")
        return dist_info.name.removeprefix("aws_parallelcluster-").removesuffix(".dist-info")

    def reachable_calls(self) -> list[StaticCall]:
        return [call for call in self.calls if self.reachability[call.wrapper].reachable]


# --- The release -------------------------------------------------------------------------------


def image_site_packages(version: str | None = None) -> Path:
    """site-packages of a served version's image venv (by default the default version's; built by
    ``make test`` before the suite, cached in .cache/)."""
    from tests.lambda_image import venv

    root = venv.ensure_venvs(version or venv.DEFAULT_PARALLELCLUSTER_VERSION).root
    candidates = [p for p in (root / "image" / "lib").glob("python*/site-packages") if (p / "pcluster").is_dir()]
    if len(candidates) != 1:
        raise RuntimeError(f"expected one site-packages with pcluster under {root / 'image'}, found {candidates}")
    return candidates[0]


class Models:
    """botocore service models and boto3 resource models of the release's SDK."""

    def __init__(self, site_packages: Path):
        self._site = site_packages
        self._loader = Loader(
            extra_search_paths=[str(site_packages / "botocore" / "data")], include_default_search_paths=False
        )

    @functools.cache  # noqa: B019 - one model reader per extraction, kept for its life
    def service(self, service: str) -> dict[str, Any]:
        return self._loader.load_service_model(service, "service-2")

    @functools.cache  # noqa: B019 - one model reader per extraction, kept for its life
    def operations(self, service: str) -> dict[str, str]:
        """snake_case method name -> PascalCase operation."""
        return {xform_name(name): name for name in self.service(service)["operations"]}

    @functools.cache  # noqa: B019 - one model reader per extraction, kept for its life
    def resources(self, service: str) -> dict[str, Any] | None:
        versions = sorted((self._site / "boto3" / "data" / service).glob("*/resources-1.json"))
        return json.loads(versions[-1].read_text()) if versions else None


# --- AST helpers ---------------------------------------------------------------------------------


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return UNKNOWN


def _call_params(call: ast.Call | None) -> tuple[dict[str, Any], bool]:
    if call is None:
        return {}, True
    params = {kw.arg: _literal(kw.value) for kw in call.keywords if kw.arg}
    return params, all(kw.arg for kw in call.keywords)


def _set_path(params: dict[str, Any], target: str) -> None:
    """Put UNKNOWN at a resource-model request target such as ``Delete.Objects[*].VersionId``."""
    node: Any = params
    parts = target.split(".")
    for i, part in enumerate(parts):
        is_list = part.endswith("]")
        name = part.split("[")[0]
        last = i == len(parts) - 1
        if is_list:
            items = node.setdefault(name, [{}])
            node = items[0]
        elif last:
            node.setdefault(name, UNKNOWN)
        else:
            node = node.setdefault(name, {})


@dataclass
class _Module:
    path: str
    tree: ast.Module
    in_scope: bool
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent


def _load_modules(site_packages: Path) -> list[_Module]:
    modules = []
    for file in sorted((site_packages / "pcluster").rglob("*.py")):
        path = file.relative_to(site_packages).as_posix()
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=path)
        modules.append(_Module(path, tree, in_scope=not path.startswith(OUT_OF_SCOPE)))
    return modules


@dataclass
class _Unit:
    """A function or method of in-scope code, as a possible wrapper of AWS calls."""

    module: _Module
    qualname: str
    node: ast.FunctionDef
    class_name: str | None

    @property
    def name(self) -> str:
        return self.node.name


def _units(module: _Module) -> Iterator[_Unit]:
    for node in module.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield _Unit(module, node.name, node, None)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield _Unit(module, f"{node.name}.{item.name}", item, node.name)


# --- Extraction ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Binding:
    """An expression that holds a boto3 client or resource (``self._client``, ``self.ec2``)."""

    expression: str
    kind: str  # "client" or "resource"
    service: str


class _Extractor:
    def __init__(self, site_packages: Path, models: Models):
        self.site = site_packages
        self.models = models
        self.modules = _load_modules(site_packages)
        self.calls: list[StaticCall] = []
        #: AST nodes of client and resource attributes that are AWS calls, not references to wrappers.
        self.call_nodes: set[int] = set()
        self.unclassified: list[str] = []
        self.no_request_uses: list[str] = []
        # Class name -> bindings of its methods; class name -> (module, ClassDef).
        self.class_bindings: dict[str, list[_Binding]] = {}
        self.classes: dict[str, tuple[_Module, ast.ClassDef]] = {}

    # Bindings ------------------------------------------------------------------------------------

    def find_bindings(self) -> None:
        bases: dict[str, list[str]] = {}
        for module in self.modules:
            for node in module.tree.body:
                if isinstance(node, ast.ClassDef):
                    self.classes.setdefault(node.name, (module, node))
                    bases[node.name] = [_dotted(b).rsplit(".", 1)[-1] for b in node.bases if _dotted(b)]

        def derives_from(name: str, base: str, seen: frozenset = frozenset()) -> bool:
            return any(b == base or (b not in seen and derives_from(b, base, seen | {name})) for b in bases.get(name, []))

        for name, (module, node) in self.classes.items():
            if not module.in_scope or name in (CLIENT_BASE, RESOURCE_BASE):
                continue
            for base, kind, expression in ((CLIENT_BASE, "client", "self._client"), (RESOURCE_BASE, "resource", "self._resource")):
                if derives_from(name, base):
                    service = self._super_service(module, node)
                    if service:
                        self.class_bindings.setdefault(name, []).append(_Binding(expression, kind, service))
        self._find_direct_bindings()

    def _super_service(self, module: _Module, node: ast.ClassDef) -> str | None:
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "__init__"
                and isinstance(call.func.value, ast.Call)
                and _dotted(call.func.value.func) == "super"
            ):
                if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                    return call.args[0].value
        self.unclassified.append(f"{module.path}:{node.lineno} {node.name}: no super().__init__('<service>')")
        return None

    def _find_direct_bindings(self) -> None:
        """``x = boto3.client("svc")`` / ``boto3.resource("svc")``, and every other use of ``boto3``."""
        for module in self.modules:
            if not module.in_scope:
                continue
            for node in ast.walk(module.tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("boto3."):
                    self.no_request_uses.append(
                        f"{module.path}:{node.lineno} from {node.module} import ... (builds request parameters)"
                    )
                elif isinstance(node, ast.Name) and node.id == "boto3":
                    self._classify_boto3_use(module, node)

    def _classify_boto3_use(self, module: _Module, name: ast.Name) -> None:
        site = f"{module.path}:{name.lineno}"
        top: ast.AST = name
        while True:
            parent = module.parents.get(top)
            if isinstance(parent, ast.Attribute) and parent.value is top or isinstance(parent, ast.Call) and parent.func is top:
                top = parent
            else:
                break
        text = ast.unparse(top)
        if isinstance(top, ast.Attribute) and top.attr == "region_name" and "Session()" in text:
            self.no_request_uses.append(f"{site} {text} (reads the configured Region)")
            return
        attribute = module.parents.get(name)
        call = module.parents.get(attribute)
        if not (isinstance(attribute, ast.Attribute) and attribute.attr in ("client", "resource") and isinstance(call, ast.Call)):
            self.unclassified.append(f"{site} unrecognized use of boto3: {text}")
            return
        owner = self._enclosing_class(module, call)
        service = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None
        if module.path == BASES_MODULE and owner in (CLIENT_BASE, RESOURCE_BASE) and service is None:
            self.no_request_uses.append(f"{site} {owner} constructor (each subclass names its service)")
            return
        target = module.parents.get(call)
        if service and isinstance(target, ast.Assign) and len(target.targets) == 1 and _dotted(target.targets[0]):
            binding = _Binding(_dotted(target.targets[0]), attribute.attr, service)
            self.class_bindings.setdefault(owner or module.path, []).append(binding)
            return
        self.unclassified.append(f"{site} unrecognized use of boto3: {text}")

    def _enclosing_class(self, module: _Module, node: ast.AST) -> str | None:
        while node in module.parents:
            node = module.parents[node]
            if isinstance(node, ast.ClassDef):
                return node.name
        return None

    # Calls ---------------------------------------------------------------------------------------

    def extract(self) -> None:
        for module in self.modules:
            if not module.in_scope:
                continue
            for unit in _units(module):
                owner = unit.class_name or module.path
                bindings = self.class_bindings.get(owner, [])
                if bindings:
                    self._extract_unit(unit, bindings)

    def _record(self, unit: _Unit, node: ast.AST, service: str, operation: str, form: str, params=None, complete=True):
        self.calls.append(
            StaticCall(service, operation, unit.module.path, node.lineno, unit.qualname, form, params or {}, complete)
        )

    def _extract_unit(self, unit: _Unit, bindings: list[_Binding]) -> None:
        for binding in bindings:
            if binding.kind == "client":
                for node in ast.walk(unit.node):
                    if isinstance(node, ast.Attribute) and _dotted(node.value) == binding.expression:
                        self._client_attribute(unit, node, binding.service)
            else:
                _ResourceResolver(self, unit, binding).run()

    def _client_attribute(self, unit: _Unit, node: ast.Attribute, service: str) -> None:
        self.call_nodes.add(id(node))
        module = unit.module
        parent = module.parents.get(node)
        called = isinstance(parent, ast.Call) and parent.func is node
        operations = self.models.operations(service)
        attr = node.attr
        if attr in operations:
            if called:
                params, complete = _call_params(parent)
                self._record(unit, node, service, operations[attr], "call", params, complete)
            else:
                # Handed to another call (``self._paginate_results(self._client.x, **kwargs)``),
                # which makes the request with its own keyword arguments.
                holder = parent if isinstance(parent, ast.Call) else None
                params, complete = _call_params(holder)
                self._record(unit, node, service, operations[attr], "reference", params, complete)
        elif attr in ("get_paginator", "generate_presigned_url") and called:
            name = parent.args[0].value if parent.args and isinstance(parent.args[0], ast.Constant) else None
            if name in operations:
                form = "paginator" if attr == "get_paginator" else "presigned URL"
                params = _OBJECT_PARAMS if attr == "generate_presigned_url" else {}
                self._record(unit, node, service, operations[name], form, dict(params), False)
            else:
                self.unclassified.append(f"{module.path}:{node.lineno} {unit.qualname}: {ast.unparse(parent)}")
        elif attr in TRANSFER_OPERATIONS and service == "s3":
            for operation in TRANSFER_OPERATIONS[attr]:
                self._record(unit, node, service, operation, f"transfer ({attr})", dict(_OBJECT_PARAMS), False)
        elif attr not in _NO_REQUEST_ATTRIBUTES:
            self.unclassified.append(f"{module.path}:{node.lineno} {unit.qualname}: client attribute {attr!r}")


@dataclass(frozen=True)
class _State:
    """Where a resource chain stands: ("service"), ("has", T), ("resource", T), ("collection", ...)."""

    kind: str
    type: str | None = None
    collection: Mapping[str, Any] | None = None  # the hasMany entry
    pending: tuple = ()  # operations a call of this attribute makes: ((operation, params, form), ...)


class _ResourceResolver:
    """Resolve chains from a boto3 service resource over its resource model."""

    def __init__(self, extractor: _Extractor, unit: _Unit, binding: _Binding):
        self.x = extractor
        self.unit = unit
        self.binding = binding
        self.model = extractor.models.resources(binding.service) or {}
        self.locals: dict[str, _State] = {}

    @functools.cached_property
    def returning_methods(self) -> dict[str, _State]:
        """Methods of the same class that return a resource (``get_bucket``)."""
        found: dict[str, _State] = {}
        if not self.unit.class_name:
            return found
        _, class_node = self.x.classes[self.unit.class_name]
        for item in class_node.body:
            if isinstance(item, ast.FunctionDef) and item is not self.unit.node:
                for node in ast.walk(item):
                    if isinstance(node, ast.Return) and node.value is not None:
                        resolver = _ResourceResolver(self.x, self.unit, self.binding)
                        resolver.__dict__["returning_methods"] = {}
                        state = resolver.resolve(node.value, record=False)
                        if state and state.kind == "resource":
                            found[item.name] = state
        return found

    def run(self) -> None:
        module = self.unit.module
        # Local names bound to a resource (``vpc = self.ec2.Vpc(vpc_id)``).
        for node in ast.walk(self.unit.node):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                state = self.resolve(node.value, record=False)
                if state and state.kind == "resource":
                    self.locals[node.targets[0].id] = state
        for node in ast.walk(self.unit.node):
            if not isinstance(node, (ast.Attribute, ast.Call, ast.Name)):
                continue
            parent = module.parents.get(node)
            inner = (isinstance(parent, ast.Attribute) and parent.value is node) or (
                isinstance(parent, ast.Call) and parent.func is node
            )
            if inner:
                continue
            state = self.resolve(node, record=True)
            if state is None:
                continue
            if state.kind == "collection":  # iterated, or returned to a caller that iterates it
                self._collection_listing(node, state)
            elif state.pending:  # an action referenced but not called here
                for operation, params, form in state.pending:
                    self.x._record(self.unit, node, self.binding.service, operation, form, params, False)

    def _collection_listing(self, node: ast.AST, state: _State) -> None:
        request = state.collection["request"]
        params: dict[str, Any] = {}
        for param in request.get("params", []):
            _set_path(params, param["target"])
        self.x._record(self.unit, node, self.binding.service, request["operation"], "resource collection", params, False)

    def resolve(self, node: ast.AST, *, record: bool) -> _State | None:
        if _dotted(node) == self.binding.expression:
            return _State("service")
        if isinstance(node, ast.Name):
            return self.locals.get(node.id)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and _dotted(func.value) == "self" and func.attr in self.returning_methods:
                return self.returning_methods[func.attr]
            state = self.resolve(func, record=record)
            return None if state is None else self._call(node, state, record)
        if isinstance(node, ast.Attribute):
            state = self.resolve(node.value, record=record)
            return None if state is None else self._attribute(node, state)
        return None

    def _definition(self, type_name: str | None) -> dict[str, Any]:
        return self.model["service"] if type_name is None else self.model["resources"][type_name]

    def _action(self, action: Mapping[str, Any], form: str) -> tuple:
        params: dict[str, Any] = {}
        for param in action["request"].get("params", []):
            _set_path(params, param["target"])
        return (action["request"]["operation"], params, form)

    def _attribute(self, node: ast.Attribute, state: _State) -> _State | None:
        self.x.call_nodes.add(id(node))
        attr = node.attr
        if state.kind in ("service", "resource"):
            definition = self._definition(state.type)
            if attr in definition.get("has", {}):
                return _State("has", definition["has"][attr]["resource"]["type"])
            for name, many in definition.get("hasMany", {}).items():
                if xform_name(name) == attr:
                    return _State("collection", many["resource"]["type"], many)
            for name, action in definition.get("actions", {}).items():
                if xform_name(name) == attr:
                    return _State("action", state.type, pending=(self._action(action, "resource action"),))
            if attr in ("load", "reload") and "load" in definition:
                return _State("action", state.type, pending=(self._action(definition["load"], "resource load"),))
            if attr in TRANSFER_OPERATIONS and self.binding.service == "s3":
                return _State(
                    "action",
                    state.type,
                    pending=tuple((op, dict(_OBJECT_PARAMS), f"transfer ({attr})") for op in TRANSFER_OPERATIONS[attr]),
                )
            if state.kind == "resource" and self._is_data_attribute(state.type, attr):
                return _State("data")
        elif state.kind == "collection":
            if attr in _COLLECTION_METHODS:
                return _State("collection-method", state.type, state.collection)
            batch = self.model["resources"][state.type].get("batchActions", {})
            for name, action in batch.items():
                if xform_name(name) == attr:
                    listing = self._action(state.collection, "resource collection")
                    return _State("action", state.type, pending=(listing, self._action(action, "resource batch action")))
        elif state.kind == "data":
            return state
        self.x.unclassified.append(
            f"{self.unit.module.path}:{node.lineno} {self.unit.qualname}: resource attribute {attr!r} of {state}"
        )
        return None

    def _is_data_attribute(self, type_name: str, attr: str) -> bool:
        definition = self.model["resources"][type_name]
        identifiers = {xform_name(i["name"]) for i in definition.get("identifiers", [])}
        shape = definition.get("shape")
        members = set()
        if shape:
            members = {xform_name(m) for m in self.x.models.service(self.binding.service)["shapes"][shape].get("members", {})}
        return attr in identifiers | members

    def _call(self, node: ast.Call, state: _State, record: bool) -> _State | None:
        if state.kind == "has":
            return _State("resource", state.type)
        if state.kind == "collection-method":
            return _State("collection", state.type, state.collection)
        if state.kind == "action":
            if record:
                keywords, _ = _call_params(node)
                for operation, params, form in state.pending:
                    self.x._record(self.unit, node, self.binding.service, operation, form, {**params, **keywords}, False)
            return _State("data")
        if state.kind == "data":
            return state
        return None


# --- Reachability ----------------------------------------------------------------------------------


def _references(root: ast.AST, excluded: set[int]) -> Iterator[tuple[str, int]]:
    for node in ast.walk(root):
        if id(node) in excluded:
            continue
        if isinstance(node, ast.Attribute):
            yield node.attr, node.lineno
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            yield node.id, node.lineno


def _reachability(extractor: _Extractor) -> dict[str, Reachability]:
    # Bodies of the client classes (and of modules with direct bindings): their references are edges.
    owners = set(extractor.class_bindings)
    units = {u.qualname: u for m in extractor.modules if m.in_scope for u in _units(m) if (u.class_name or m.path) in owners}
    inside: set[int] = set()
    for module in extractor.modules:
        for node in module.tree.body:
            if isinstance(node, ast.ClassDef) and node.name in owners and module.in_scope:
                inside.update(id(n) for n in ast.walk(node))

    outside: dict[str, list[str]] = {}
    out_of_scope: dict[str, list[str]] = {}
    for module in extractor.modules:
        target = outside if module.in_scope else out_of_scope
        for node in ast.walk(module.tree):
            if id(node) in inside:
                continue
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name:
                target.setdefault(name, []).append(f"{module.path}:{node.lineno}")

    def class_referenced(class_name: str) -> bool:
        return class_name in outside

    edges = {q: {name for name, _ in _references(u.node, extractor.call_nodes)} for q, u in units.items()}
    reachable: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for qualname, unit in units.items():
            if qualname in reachable:
                continue
            if unit.class_name and not class_referenced(unit.class_name):
                continue
            if unit.name == "__init__":
                reachable[qualname] = f"constructor of {unit.class_name}, referenced at {_sites(outside[unit.class_name])}"
            elif unit.name in outside:
                reachable[qualname] = f"`{unit.name}` referenced at {_sites(outside[unit.name])}"
            else:
                callers = sorted(q for q in reachable if unit.name in edges[q] and q != qualname)
                if not callers:
                    continue
                reachable[qualname] = f"`{unit.name}` referenced by reachable {', '.join(callers)}"
            changed = True

    result = {}
    for qualname, unit in units.items():
        if qualname in reachable:
            result[qualname] = Reachability(True, reachable[qualname])
            continue
        if unit.class_name and not class_referenced(unit.class_name):
            where = out_of_scope.get(unit.class_name)
            evidence = f"class {unit.class_name} is referenced nowhere in scope" + (
                f"; only out of scope, at {_sites(where)}" if where else ""
            )
        else:
            where = out_of_scope.get(unit.name)
            evidence = f"`{unit.name}` is referenced nowhere in scope outside the client classes" + (
                f"; only out of scope, at {_sites(where)}" if where else ""
            )
        result[qualname] = Reachability(False, evidence)
    return result


def _sites(sites: list[str], shown: int = 3) -> str:
    more = f" (+{len(sites) - shown} more)" if len(sites) > shown else ""
    return ", ".join(sites[:shown]) + more


@functools.cache
def extract(site_packages: Path | None = None) -> Extraction:
    """Extract (once per process) the AWS calls of the release installed in ``site_packages``."""
    site = site_packages or image_site_packages()
    extractor = _Extractor(site, Models(site))
    extractor.find_bindings()
    extractor.extract()
    calls = tuple(sorted(extractor.calls, key=lambda c: (c.path, c.line, c.operation)))
    return Extraction(
        site_packages=site,
        calls=calls,
        reachability=_reachability(extractor),
        unclassified=tuple(extractor.unclassified),
        no_request_uses=tuple(extractor.no_request_uses),
    )


@functools.cache
def release_constants(site_packages: Path | None = None) -> Mapping[str, Any]:
    """Module-level constants of ``pcluster/constants.py`` whose values are literals or f-strings of
    earlier constants (the release's own naming conventions: prefixes, paths, tag keys)."""
    site = site_packages or image_site_packages()
    tree = ast.parse((site / "pcluster" / "constants.py").read_text(encoding="utf-8"))
    constants: dict[str, Any] = {}

    def value_of(node: ast.AST) -> Any:
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                inner = part.value if isinstance(part, ast.FormattedValue) else part
                parts.append(str(value_of(inner)))
            return "".join(parts)
        if isinstance(node, ast.Name):
            return constants[node.id]
        return ast.literal_eval(node)

    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = value_of(node.value)
            except (ValueError, KeyError, TypeError, SyntaxError):
                continue
    return constants
