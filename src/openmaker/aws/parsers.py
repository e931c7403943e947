"""Requests → (operation, params) for the json, query, rest-json, rest-xml and RPC v2 CBOR protocols.

The result is what the boto3 client method would have been called with: botocore member names,
Python types (datetime for timestamps, bytes for blobs, a :class:`RequestBody` for streaming
payloads). Anything that cannot be read as the shape says is answered with the protocol's error.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import cbor2
from botocore.model import OperationModel, Shape, StructureShape
from botocore.utils import parse_timestamp
from defusedxml import ElementTree

from openmaker.aws import specs
from openmaker.aws.errors import AwsError
from openmaker.aws.request import HttpRequest
from openmaker.aws.routing import match_rest_operation, rpc_v2_target, uri_label_names

_MISSING = object()


class _Malformed(Exception):
    """A value that does not fit its shape; turned into the protocol's error by :func:`parse`."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(detail)
        self.path = path
        self.detail = detail


def _malformed_error(protocol: str, error: _Malformed) -> AwsError:
    if protocol == "rest-xml":
        return AwsError("InvalidArgument", f"Invalid value for {error.path}: {error.detail}", 400)
    if protocol == "query":
        return AwsError("MalformedInput", f"Invalid value for {error.path}: {error.detail}", 400)
    return AwsError("SerializationException", f"Invalid value for {error.path}: {error.detail}", 400)


async def parse(
    service: str, request: HttpRequest, form: dict[str, str] | None, protocol: str | None = None
) -> tuple[OperationModel, dict]:
    """``protocol`` is the request's (see ``routing.request_protocol``); default: the model's."""
    protocol = protocol or specs.protocol(service)
    try:
        if protocol == "json":
            return await _parse_json_rpc(service, request)
        if protocol == specs.CBOR:
            return await _parse_rpc_v2_cbor(service, request)
        if protocol == "query":
            return _parse_query(service, request, form if form is not None else request.query)
        return await _parse_rest(service, protocol, request)
    except _Malformed as error:
        raise _malformed_error(protocol, error) from None


# --- scalars -------------------------------------------------------------------------------------


def _scalar(shape: Shape, text: str, path: str, location: str | None = None) -> Any:
    kind = shape.type_name
    try:
        if kind == "string":
            if location == "header" and shape.serialization.get("jsonvalue"):
                return json.loads(base64.b64decode(text))
            return text
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "timestamp":
            return _timestamp(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
        if kind == "list" and location == "header":
            return [_scalar(shape.member, part.strip(), path) for part in text.split(",") if part.strip()]
    except (ValueError, binascii.Error, json.JSONDecodeError) as error:
        raise _Malformed(path, f"{text!r} is not a valid {kind}") from error
    return text


def _timestamp(value: Any) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    parsed = parse_timestamp(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- json (JSON 1.0/1.1 RPC) ---------------------------------------------------------------------


async def _parse_json_rpc(service: str, request: HttpRequest) -> tuple[OperationModel, dict]:
    target = request.headers.get("x-amz-target", "")
    name = target.rpartition(".")[2]
    operation = specs.operation(service, name)
    if operation is None:
        raise AwsError("UnknownOperationException", f"Unknown operation {target!r}.", 400)
    raw = await request.body.read()
    if not raw.strip():
        document: Any = {}
    else:
        try:
            document = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AwsError("SerializationException", "The request body is not valid JSON.", 400) from None
    if not isinstance(document, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object.", 400)
    shape = operation.input_shape
    params = _from_json(shape, document, "") if shape is not None else {}
    return operation, params


_JSON_CONTAINERS = ("a JSON object", "a JSON list")
_CBOR_CONTAINERS = ("a CBOR map", "a CBOR array")


def _read_document(
    shape: Shape,
    value: Any,
    path: str,
    leaf: Callable[[Shape, Any, str], Any],
    containers: tuple[str, str],
) -> Any:
    """A decoded JSON or CBOR document → the shape's Python types. Structures, lists and maps are
    walked the same way for both; ``leaf`` reads scalars as its protocol encodes them."""
    if value is None:
        return None
    kind = shape.type_name
    mapping, sequence = containers
    if kind == "structure":
        if not isinstance(value, dict):
            raise _Malformed(path or "body", f"expected {mapping}")
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if value.get(key) is not None:
                out[name] = _read_document(member, value[key], _join(path, name), leaf, containers)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _Malformed(path, f"expected {sequence}")
        return [_read_document(shape.member, item, f"{path}.{i}", leaf, containers) for i, item in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _Malformed(path, f"expected {mapping}")
        return {
            str(key): _read_document(shape.value, item, f"{path}.{key}", leaf, containers)
            for key, item in value.items()
        }
    return leaf(shape, value, path)


def _from_json(shape: Shape, value: Any, path: str) -> Any:
    return _read_document(shape, value, path, _json_scalar, _JSON_CONTAINERS)


def _json_scalar(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            raise _Malformed(path, "expected a string")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise _Malformed(path, "expected an integer")
        return int(value)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Malformed(path, "expected a number")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _Malformed(path, "expected a boolean")
        return value
    if kind == "timestamp":
        try:
            return _timestamp(value)
        except (ValueError, TypeError, OverflowError, OSError):
            raise _Malformed(path, "expected a timestamp") from None
    if kind == "blob":
        if not isinstance(value, str):
            raise _Malformed(path, "expected base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise _Malformed(path, "expected base64 text") from None
    return value  # document


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# --- smithy-rpc-v2-cbor (CloudWatch) ------------------------------------------------------------


async def _parse_rpc_v2_cbor(service: str, request: HttpRequest) -> tuple[OperationModel, dict]:
    target = rpc_v2_target(request)
    name = target[1] if target else ""
    operation = specs.operation(service, name)
    if operation is None:
        raise AwsError("UnknownOperationException", f"Unknown operation {name!r}.", 404)
    raw = await request.body.read()
    if not raw:
        document: Any = {}
    else:
        try:
            document = cbor2.loads(raw)
        except (cbor2.CBORDecodeError, ValueError, OverflowError, RecursionError):
            raise AwsError("SerializationException", "The request body is not valid CBOR.", 400) from None
    if not isinstance(document, dict):
        raise AwsError("SerializationException", "The request body must be a CBOR map.", 400)
    shape = operation.input_shape
    params = _from_cbor(shape, document, "") if shape is not None else {}
    return operation, params


def _from_cbor(shape: Shape, value: Any, path: str) -> Any:
    return _read_document(shape, value, path, _cbor_scalar, _CBOR_CONTAINERS)


def _cbor_scalar(shape: Shape, value: Any, path: str) -> Any:
    """CBOR differs from JSON only in the scalars: blobs are byte strings, timestamps arrive as tag 1
    (decoded to datetime) or plain epoch numbers, and floats may be NaN/Infinity natively."""
    kind = shape.type_name
    if kind == "timestamp":
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            try:
                return _timestamp(value)
            except (OverflowError, OSError, ValueError):
                pass
        raise _Malformed(path, "expected a timestamp")
    if kind == "blob":
        if not isinstance(value, bytes | bytearray):
            raise _Malformed(path, "expected a byte string")
        return bytes(value)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Malformed(path, "expected a number")
        return float(value)
    return _json_scalar(shape, value, path)  # string, integer, long, boolean, document


# --- query (STS, IAM) ----------------------------------------------------------------------------


def _parse_query(service: str, request: HttpRequest, params: dict[str, str]) -> tuple[OperationModel, dict]:
    action = params.get("Action", "")
    operation = specs.operation(service, action)
    if operation is None:
        raise AwsError("InvalidAction", f"Could not find operation {action} for version {params.get('Version')}.")
    shape = operation.input_shape
    if shape is None:
        return operation, {}
    keys = set(params)
    return operation, _from_query(shape, params, keys, "") or {}


def _from_query(shape: Shape, params: dict[str, str], keys: set[str], prefix: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if prefix and not any(key.startswith(prefix + ".") for key in keys):
            return _MISSING
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            value = _from_query(member, params, keys, f"{prefix}.{wire}" if prefix else wire)
            if value is not _MISSING:
                out[name] = value
        return out
    if kind == "list":
        flattened = shape.serialization.get("flattened")
        base = prefix if flattened else f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = []
        index = 1
        while True:
            value = _from_query(shape.member, params, keys, f"{base}.{index}")
            if value is _MISSING:
                break
            items.append(value)
            index += 1
        if not items:
            return [] if params.get(prefix) == "" else _MISSING
        return items
    if kind == "map":
        flattened = shape.serialization.get("flattened")
        base = prefix if flattened else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        index = 1
        while f"{base}.{index}.{key_name}" in params:
            value = _from_query(shape.value, params, keys, f"{base}.{index}.{value_name}")
            out[params[f"{base}.{index}.{key_name}"]] = None if value is _MISSING else value
            index += 1
        return out if out else _MISSING
    if prefix not in params:
        return _MISSING
    return _scalar(shape, params[prefix], prefix)


# --- rest-json and rest-xml ----------------------------------------------------------------------


@dataclass(frozen=True)
class _RestPlan:
    """Where each input member of a REST operation lives, worked out once per operation."""

    members: tuple[tuple[str, Shape, str | None, str], ...]  # (name, shape, location, wire name)
    uses_query: bool
    bound_query: frozenset[str]
    groups: dict[str, str]
    body_members: tuple[str, ...]
    payload: str | None
    payload_mode: str | None  # "stream", "text" (blob/string read whole) or "document"


@lru_cache(maxsize=2048)
def _rest_plan(operation: OperationModel) -> _RestPlan:
    shape = operation.input_shape
    members = []
    body_members = []
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location in ("uri", "querystring", "headers", "header"):
            members.append((name, member, location, wire))
        elif location is None and name != payload:
            body_members.append(name)
    mode = None
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string") and (
            member.serialization.get("streaming") or (member.type_name == "blob" and _is_streaming(member))
        ):
            mode = "stream"
        elif member.type_name in ("blob", "string"):
            mode = "text"
        else:
            mode = "document"
    return _RestPlan(
        members=tuple(members),
        uses_query=any(location == "querystring" for _, _, location, _ in members),
        bound_query=frozenset(
            wire
            for _, member, location, wire in members
            if location == "querystring" and member.type_name != "map"
        ),
        groups=uri_label_names(operation),
        body_members=tuple(body_members),
        payload=payload,
        payload_mode=mode,
    )


async def _parse_rest(service: str, protocol: str, request: HttpRequest) -> tuple[OperationModel, dict]:
    operation, labels = match_rest_operation(service, request)
    shape = operation.input_shape
    if shape is None:
        return operation, {}
    plan = _rest_plan(operation)
    params: dict[str, Any] = {}
    groups = plan.groups
    if plan.uses_query:
        query = request.query
        query_list = request.query_list
    headers = request.headers
    bound_query = plan.bound_query
    for name, member, location, wire in plan.members:
        if location == "uri":
            value = labels.get(groups.get(wire, ""))
            if value is not None:
                params[name] = _scalar(member, value, name)
        elif location == "querystring":
            if member.type_name == "map":
                values = {key: value for key, value in query_list if key not in bound_query}
                if values:
                    params[name] = values
            elif member.type_name == "list":
                values = [value for key, value in query_list if key == wire]
                if values:
                    params[name] = [_scalar(member.member, value, name) for value in values]
            elif wire in query:
                params[name] = _scalar(member, query[wire], name)
        elif location == "headers" or member.type_name == "map":
            prefix = wire.lower()
            values = {key[len(prefix) :]: value for key, value in headers.items() if key.startswith(prefix)}
            if values:
                params[name] = values
        else:  # header
            header = headers.get(wire.lower())
            if header is not None:
                params[name] = _scalar(member, header, name, "header")
    payload = plan.payload
    if payload:
        member = shape.members[payload]
        if plan.payload_mode == "stream":
            params[payload] = request.body
        elif plan.payload_mode == "text":
            data = await _read_limited(request, member)
            if data:
                params[payload] = data if member.type_name == "blob" else data.decode("utf-8", "replace")
        else:
            data = await request.body.read()
            if data.strip():
                params[payload] = _parse_document(protocol, member, data, payload)
    elif plan.body_members:
        data = await request.body.read()
        if data.strip():
            document = _parse_document(protocol, shape, data, "body")
            for name in plan.body_members:
                if name in document:
                    params[name] = document[name]
    return operation, params


def _is_streaming(member: Shape) -> bool:
    return bool(member.serialization.get("streaming") or getattr(member, "metadata", {}).get("streaming"))


async def _read_limited(request: HttpRequest, member: Shape) -> bytes:
    """Read a non-streaming blob payload, refusing one larger than the shape allows before reading it
    (in the words of the SageMaker runtime, the one served operation with such a limit)."""
    limit = member.metadata.get("max")
    declared = request.headers.get("content-length")
    if limit is not None and declared and declared.isdigit() and int(declared) > limit:
        raise AwsError("ValidationError", f"Request {request.request_id} has oversize body.", 400)
    return await request.body.read()


def _parse_document(protocol: str, shape: Shape, data: bytes, path: str) -> Any:
    if protocol == "rest-json":
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AwsError("SerializationException", "The request body is not valid JSON.", 400) from None
        return _from_json(shape, document, "")
    try:
        root = ElementTree.fromstring(data)
    except Exception:
        raise AwsError(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
            400,
        ) from None
    _strip_namespaces(root)
    return _from_xml(shape, root, path)


def _strip_namespaces(element: Any) -> None:
    for node in element.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
        if node.attrib:
            node.attrib = {key.split("}", 1)[-1]: value for key, value in node.attrib.items()}


def _from_xml(shape: Shape, element: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if member.serialization.get("xmlAttribute"):
                if wire.split(":")[-1] in element.attrib:
                    out[name] = element.attrib[wire.split(":")[-1]]
                continue
            if member.type_name == "list" and member.serialization.get("flattened"):
                children = element.findall(wire)
                if children:
                    out[name] = [_from_xml(member.member, child, f"{path}.{name}") for child in children]
                continue
            child = element.find(wire)
            if child is not None:
                out[name] = _from_xml(member, child, f"{path}.{name}")
        return out
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        return [_from_xml(shape.member, child, path) for child in element.findall(item_name)]
    if kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        entries = element.findall("entry") if not shape.serialization.get("flattened") else [element]
        for entry in entries:
            key = entry.find(key_name)
            value = entry.find(value_name)
            if key is not None:
                out[key.text or ""] = _from_xml(shape.value, value, path) if value is not None else None
        return out
    return _scalar(shape, element.text or "", path)
