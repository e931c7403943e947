"""Results and errors → HTTP responses for the json, query, rest-json, rest-xml and RPC v2 CBOR protocols.

A handler's result is the dict boto3 would return; each member goes where the output shape puts it
(status code, headers, payload, body document), with the protocol's encodings for timestamps,
blobs, lists and maps.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import cbor2
from botocore.model import OperationModel, Shape

from openmaker.aws import specs
from openmaker.aws.errors import AwsError
from openmaker.aws.streams import FileBody, IterBody

Body = bytes | FileBody | IterBody

# Root element names of S3 responses whose output shape does not name one.
XML_ROOTS = {
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListParts": "ListPartsResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketEncryption": "ServerSideEncryptionConfiguration",
}


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""


def serialize(
    service: str, operation: OperationModel, result: dict | None, request_id: str, protocol: str | None = None
) -> HttpResponse:
    """``protocol`` is the request's (see ``routing.request_protocol``); default: the model's."""
    protocol = protocol or specs.protocol(service)
    result = result or {}
    if protocol == "json":
        return _json_rpc(service, operation, result, request_id)
    if protocol == specs.CBOR:
        return _cbor_rpc(operation, result, request_id)
    if protocol == "query":
        return _query(service, operation, result, request_id)
    return _rest(service, protocol, operation, result, request_id)


# --- scalars -------------------------------------------------------------------------------------


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _timestamp(shape: Shape, value: Any, default: str) -> str | float:
    moment = _as_datetime(value).astimezone(UTC)
    form = shape.serialization.get("timestampFormat") or getattr(shape, "metadata", {}).get("timestampFormat")
    form = form or default
    if form == "unixTimestamp":
        return round(moment.timestamp(), 3)
    if form == "rfc822":
        return format_datetime(moment, usegmt=True)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _text(shape: Shape, value: Any, timestamp_default: str = "iso8601") -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(_timestamp(shape, value, timestamp_default))
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()
    if kind in ("float", "double") and isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value)


# --- json ----------------------------------------------------------------------------------------


def _document(shape: Shape | None, value: Any, leaf: Callable[[Shape, Any], Any]) -> Any:
    """A result as a JSON-like document of the shape's wire names; ``leaf`` encodes scalars the way
    one protocol does (JSON and CBOR differ only there)."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                out[member.serialization.get("name", name)] = _document(member, item, leaf)
        return out
    if kind == "list":
        return [_document(shape.member, item, leaf) for item in value]
    if kind == "map":
        return {key: _document(shape.value, item, leaf) for key, item in value.items()}
    return leaf(shape, value)


def _json_leaf(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "timestamp":
        return _timestamp(shape, value, "unixTimestamp")
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()
    return value


def _to_json(shape: Shape | None, value: Any) -> Any:
    return _document(shape, value, _json_leaf)


def _json_rpc(service: str, operation: OperationModel, result: dict, request_id: str) -> HttpResponse:
    version = specs.service_model(service).metadata.get("jsonVersion", "1.1")
    body = json.dumps(_to_json(operation.output_shape, result) or {}, separators=(",", ":")).encode()
    return HttpResponse(
        200,
        {"content-type": f"application/x-amz-json-{version}", "x-amzn-requestid": request_id},
        body,
    )


# --- smithy-rpc-v2-cbor ---------------------------------------------------------------------------

CBOR_HEADERS = {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}


def _cbor_leaf(shape: Shape, value: Any) -> Any:
    """Scalars as cbor2 encodes the shape's CBOR type (timestamps become tag 1 epoch seconds through
    ``datetime_as_timestamp``; doubles stay floats even when integral)."""
    kind = shape.type_name
    if kind == "timestamp":
        return _as_datetime(value).astimezone(UTC)
    if kind == "blob":
        return value if isinstance(value, bytes) else str(value).encode()
    if kind in ("float", "double"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    return value


def _to_cbor(shape: Shape | None, value: Any) -> Any:
    return _document(shape, value, _cbor_leaf)


def _cbor(document: Any) -> bytes:
    return cbor2.dumps(document, datetime_as_timestamp=True, timezone=UTC)


def _cbor_rpc(operation: OperationModel, result: dict, request_id: str) -> HttpResponse:
    headers = {**CBOR_HEADERS, "x-amzn-requestid": request_id}
    shape = operation.output_shape
    body = _cbor(_to_cbor(shape, result) or {}) if shape is not None else b""
    return HttpResponse(200, headers, body)


# --- xml -----------------------------------------------------------------------------------------


def _xml(shape: Shape, value: Any, name: str, attrs: str = "") -> str:
    kind = shape.type_name
    if kind == "structure":
        inner = []
        attributes = attrs
        for member_name, member in shape.members.items():
            item = value.get(member_name)
            if item is None:
                continue
            wire = member.serialization.get("name", member_name)
            if member.serialization.get("xmlAttribute"):
                attributes += f" {wire}={quoteattr(_text(member, item))}"
            elif member.type_name == "list" and member.serialization.get("flattened"):
                inner.extend(_xml(member.member, element, wire) for element in item)
            elif member.type_name == "map" and member.serialization.get("flattened"):
                inner.append(_map_entries(member, item, wire))
            else:
                namespace = member.serialization.get("xmlNamespace")
                extra = ""
                if namespace:
                    prefix = namespace.get("prefix")
                    extra = f" xmlns{':' + prefix if prefix else ''}={quoteattr(namespace['uri'])}"
                inner.append(_xml(member, item, wire, extra))
        return f"<{name}{attributes}>{''.join(inner)}</{name}>"
    if kind == "list":
        item_name = shape.member.serialization.get("name", "member")
        items = "".join(_xml(shape.member, element, item_name) for element in value)
        return f"<{name}{attrs}>{items}</{name}>"
    if kind == "map":
        return f"<{name}{attrs}>{_map_entries(shape, value, 'entry')}</{name}>"
    return f"<{name}{attrs}>{escape(_text(shape, value))}</{name}>"


def _map_entries(shape: Shape, value: dict, entry: str) -> str:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    return "".join(
        f"<{entry}><{key_name}>{escape(str(key))}</{key_name}>{_xml(shape.value, item, value_name)}</{entry}>"
        for key, item in value.items()
    )


def _query(service: str, operation: OperationModel, result: dict, request_id: str) -> HttpResponse:
    namespace = specs.service_model(service).metadata.get("xmlNamespace", "")
    name = operation.name
    shape = operation.output_shape
    inner = ""
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        inner = _xml(shape, result, wrapper)
    body = (
        f'<{name}Response xmlns="{namespace}">{inner}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{name}Response>"
    )
    return HttpResponse(200, {"content-type": "text/xml", "x-amzn-requestid": request_id}, body.encode())


# --- rest-json and rest-xml ----------------------------------------------------------------------


def _rest(service: str, protocol: str, operation: OperationModel, result: dict, request_id: str) -> HttpResponse:
    response = HttpResponse(operation.http.get("responseCode", 200))
    shape = operation.output_shape
    if protocol == "rest-xml":
        response.headers["x-amz-request-id"] = request_id
        response.headers["x-amz-id-2"] = base64.b64encode(request_id.encode()).decode()
    else:
        response.headers["x-amzn-requestid"] = request_id
    if shape is None:
        return response
    body_members = {}
    for name, member in shape.members.items():
        value = result.get(name)
        if value is None:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "statusCode":
            response.status = int(value)
        elif location == "headers" or (location == "header" and member.type_name == "map"):
            for key, item in value.items():
                response.headers[f"{wire}{key}".lower()] = str(item)
        elif location == "header":
            response.headers[wire.lower()] = _header(member, value)
        elif name != shape.serialization.get("payload"):
            body_members[name] = value
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        value = result.get(payload)
        if value is None:
            pass
        elif member.type_name in ("blob", "string"):
            response.body = value.encode() if isinstance(value, str) else value
        elif protocol == "rest-json":
            response.body = json.dumps(_to_json(member, value)).encode()
            response.headers.setdefault("content-type", "application/json")
        else:
            root = member.serialization.get("name") or member.name
            response.body = _xml_document(member, value, root, service)
            response.headers.setdefault("content-type", "application/xml")
    elif body_members:
        if protocol == "rest-json":
            response.body = json.dumps(_to_json(shape, body_members)).encode()
            response.headers.setdefault("content-type", "application/json")
        else:
            root = shape.serialization.get("name") or XML_ROOTS.get(operation.name, f"{operation.name}Result")
            response.body = _xml_document(shape, body_members, root, service)
            response.headers.setdefault("content-type", "application/xml")
    elif protocol == "rest-xml" and operation.name in XML_ROOTS:
        # An empty document still names its root (GetBucketLocation in us-east-1, unversioned buckets).
        root = XML_ROOTS[operation.name]
        response.body = _xml_document(shape, {}, root, service)
        response.headers.setdefault("content-type", "application/xml")
    return response


def _header(shape: Shape, value: Any) -> str:
    if shape.type_name == "timestamp":
        return str(_timestamp(shape, value, "rfc822"))
    if shape.type_name == "list":
        return ",".join(_text(shape.member, item) for item in value)
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(json.dumps(value).encode()).decode()
    return _text(shape, value)


def _xml_document(shape: Shape, value: Any, root: str, service: str) -> bytes:
    namespace = shape.serialization.get("xmlNamespace", {}).get("uri") or _default_namespace(service)
    attrs = f' xmlns="{namespace}"' if namespace else ""
    if shape.type_name == "structure" and list(shape.members) == [root]:
        # A document that is one scalar (GetBucketLocation's <LocationConstraint>).
        member = shape.members[root]
        text = "" if value.get(root) is None else escape(_text(member, value[root]))
        body = f"<{root}{attrs}>{text}</{root}>"
    else:
        body = _xml(shape, value, root, attrs)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body.encode()


def _default_namespace(service: str) -> str:
    return "http://s3.amazonaws.com/doc/2006-03-01/" if service == "s3" else ""


# --- errors --------------------------------------------------------------------------------------


def serialize_error(
    service: str | None, error: AwsError, request_id: str, *, head: bool = False, protocol: str | None = None
) -> HttpResponse:
    protocol = protocol or (specs.protocol(service) if service else "rest-xml")
    headers = dict(error.headers)
    if protocol == "rest-xml":
        headers["x-amz-request-id"] = request_id
        headers["x-amz-id-2"] = base64.b64encode(request_id.encode()).decode()
        if head:
            return HttpResponse(error.status, headers, b"")
        fields = "".join(f"<{key}>{escape(str(value))}</{key}>" for key, value in error.fields.items())
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>{fields}"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        headers["content-type"] = "application/xml"
        return HttpResponse(error.status, headers, body.encode())
    headers["x-amzn-requestid"] = request_id
    if protocol == "query":
        namespace = specs.service_model(service).metadata.get("xmlNamespace", "")
        kind = "Sender" if error.sender_fault else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>'
            f"<Message>{escape(error.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers["content-type"] = "text/xml"
        return HttpResponse(error.status, headers, body.encode())
    error_type = error.code
    if service and specs.query_compatible(service):
        # Handlers raise the query code (what every client shows as Error.Code); JSON and CBOR name the
        # error shape instead and carry the query code in x-amzn-query-error for botocore to map back.
        error_type = specs.query_error_shapes(service).get(error.code, error.code)
        kind = "Sender" if error.sender_fault else "Receiver"
        headers["x-amzn-query-error"] = f"{error.code};{kind}"
    document = {"__type": error_type, "message": error.message}
    document.update({key: value for key, value in error.fields.items() if value is not None})
    if protocol == specs.CBOR:
        headers.update(CBOR_HEADERS)
        plain = {k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in document.items()}
        return HttpResponse(error.status, headers, _cbor(plain))
    headers["x-amzn-errortype"] = error_type
    if protocol == "json":
        version = specs.service_model(service).metadata.get("jsonVersion", "1.1")
        headers["content-type"] = f"application/x-amz-json-{version}"
    else:
        headers["content-type"] = "application/json"
    return HttpResponse(error.status, headers, json.dumps(document, default=str).encode())
