"""Which service and which operation a raw request is for, on one port shared by every service.

Order: the runtime's invocations path, the Smithy RPC v2 path ``/service/<target prefix>/operation/<Op>``
(with its ``smithy-protocol`` header), ``X-Amz-Target`` (JSON services), the query ``Action`` with
its ``Version`` (STS, IAM, CloudWatch), the SigV4 credential scope, else S3. A service whose model lists
several protocols answers each request in the protocol the request was sent in (:func:`request_protocol`). For REST services the operation is
found by matching the method, the path template and literal query keys of every operation's
``requestUri``, preferring the most specific match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

from botocore.model import OperationModel

from openmaker.aws import specs
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest

RUNTIME_PATH = re.compile(r"^/endpoints/[^/]+/(invocations|invocations-response-stream|async-invocations)$")
RPC_V2_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")


def rpc_v2_target(request: HttpRequest) -> tuple[str, str] | None:
    """(target prefix, operation) of a Smithy RPC v2 request, else None.

    The ``smithy-protocol`` header is required by the protocol and is what tells such a request from
    an S3 object that happens to live at ``/service/.../operation/...``.
    """
    if "smithy-protocol" not in request.headers or request.method.upper() != "POST":
        return None
    match = RPC_V2_PATH.match(request.raw_path)
    if match is None:
        return None
    return unquote(match.group("service")), unquote(match.group("operation"))


def find_service(request: HttpRequest, signing_service: str | None, form: dict[str, str] | None) -> str:
    if RUNTIME_PATH.match(request.raw_path):
        return "sagemaker-runtime"
    rpc_v2 = rpc_v2_target(request)
    if rpc_v2 is not None:
        service = specs.by_target_prefix().get(rpc_v2[0])
        if service is None or specs.CBOR not in specs.protocols(service):
            raise AwsError("UnknownOperationException", f"No service answers {request.raw_path!r}.", 404)
        return service
    target = request.headers.get("x-amz-target")
    if target:
        prefix = target.split(".", 1)[0]
        service = specs.by_target_prefix().get(prefix)
        if service is None:
            raise AwsError("UnknownOperationException", f"No service answers X-Amz-Target {target!r}.")
        return service
    params = form if form is not None else request.query
    if "Action" in params and signing_service != "s3":
        service = specs.by_api_version().get(params.get("Version", ""))
        if service is None and signing_service in specs.by_signing_name():
            service = specs.by_signing_name()[signing_service]
        if service is None or "query" not in specs.protocols(service):
            raise AwsError("InvalidAction", f"Could not find a service for Action {params['Action']!r}.")
        return service
    if signing_service and signing_service != "s3":
        service = specs.by_signing_name().get(signing_service)
        if service and specs.protocol(service) in ("rest-json", "rest-xml"):
            return service
    return "s3"


def request_protocol(service: str, request: HttpRequest, form: dict[str, str] | None) -> str:
    """The protocol this request speaks, among those ``service``'s model lists (default first)."""
    protocols = specs.protocols(service)
    if len(protocols) == 1:
        return protocols[0]
    if specs.CBOR in protocols and rpc_v2_target(request) is not None:
        return specs.CBOR
    if "json" in protocols and "x-amz-target" in request.headers:
        return "json"
    if "query" in protocols and "Action" in (form if form is not None else request.query):
        return "query"
    return protocols[0]


@dataclass(frozen=True)
class _Route:
    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    literal_path_chars: int
    query_literals: tuple[tuple[str, str | None], ...]
    required_locations: tuple[tuple[str, str], ...]  # (location, wire name) of required header/query members


def _compile(operation: OperationModel) -> _Route:
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    regex = ""
    literal = 0
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            name = piece[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            regex += f"(?P<{_group(name)}>.+)" if greedy else f"(?P<{_group(name)}>[^/]+)"
        else:
            regex += re.escape(piece)
            literal += len(piece)
    if not regex.endswith("/"):
        regex += "/?"
    literals = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        literals.append((key, value if eq else None))
    required = []
    shape = operation.input_shape
    if shape is not None:
        for member in shape.required_members:
            member_shape = shape.members[member]
            location = member_shape.serialization.get("location")
            if location in ("header", "querystring"):
                required.append((location, member_shape.serialization.get("name", member)))
    return _Route(
        operation,
        operation.http["method"],
        re.compile(f"^{regex}$"),
        literal,
        tuple(literals),
        tuple(required),
    )


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


@cache
def _routes(service: str) -> tuple[_Route, ...]:
    model = specs.service_model(service)
    return tuple(_compile(model.operation_model(name)) for name in model.operation_names)


def match_rest_operation(service: str, request: HttpRequest) -> tuple[OperationModel, dict[str, str]]:
    """The operation a REST request is for and its URI labels (decoded)."""
    query = request.query
    headers = request.headers
    method = request.method.upper()
    best: tuple[tuple[int, int, int, int], _Route, re.Match[str]] | None = None
    path_matched = False
    for route in _routes(service):
        match = route.pattern.match(request.route_path)
        if match is None:
            continue
        path_matched = True
        if route.method != method:
            continue
        if any(key not in query or (value is not None and query[key] != value) for key, value in route.query_literals):
            continue
        present = sum(
            1
            for location, name in route.required_locations
            if (name.lower() in headers if location == "header" else name in query)
        )
        complete = int(present == len(route.required_locations))
        score = (complete, len(route.query_literals), present, route.literal_path_chars)
        if best is None or score > best[0]:
            best = (score, route, match)
    if best is None:
        if path_matched:
            raise AwsError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405)
        raise AwsError("UnknownOperationException", f"No operation matches {method} {request.route_path}.", 404)
    _, route, match = best
    labels = {}
    for name in route.pattern.groupindex:
        labels[name] = unquote(match.group(name))
    return route.operation, labels


def uri_label_names(operation: OperationModel) -> dict[str, str]:
    """Member wire name in the URI template → regex group name."""
    names = {}
    for piece in re.findall(r"\{([^}]+)\}", operation.http["requestUri"]):
        name = piece.rstrip("+")
        names[name] = _group(name)
    return names
