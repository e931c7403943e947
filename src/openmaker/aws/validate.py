"""Input validation against the operation's shape, with the messages AWS services give.

AWS reports every violation at once: ``2 validation errors detected: Value 'x' at 'trainingJobName'
failed to satisfy constraint: Member must satisfy regular expression pattern: ...; Value null at
'roleArn' failed to satisfy constraint: Member must not be null``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import Shape

from openmaker.aws.errors import AwsError

# The code each service answers validation failures with (default ValidationException).
ERROR_CODES = {
    "sts": "ValidationError",
    "iam": "ValidationError",
    "logs": "InvalidParameterException",
    "cloudwatch": "ValidationError",  # its query code; JSON/CBOR answers name it ValidationException
}

_MAX_REPORTED = 10


@cache
def _pattern(source: str) -> re.Pattern[str] | None:
    try:
        return re.compile(source, re.DOTALL)
    except re.error:
        return None  # a Java-only construct: skip rather than reject valid input


def validate(service: str, shape: Shape | None, params: dict[str, Any]) -> None:
    if shape is None:
        return
    if service == "s3":
        # S3 does not validate shapes the way Coral services do; its handlers check what S3 checks.
        # Only a missing required member is caught here (a request that matched an operation by
        # method and path but lacks, say, ``uploadId``).
        for name in shape.required_members:
            if params.get(name) is None:
                member = shape.members[name]
                wire = member.serialization.get("name", name)
                raise AwsError("InvalidRequest", f"Missing required parameter: {wire}", 400)
        return
    problems: list[str] = []
    _check(shape, params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        message = f"{count} validation {noun} detected: " + "; ".join(problems[:_MAX_REPORTED])
        raise AwsError(ERROR_CODES.get(service, "ValidationException"), message, 400)


# id(structure shape) -> (shape, its required members, its (member, shape, camelCase name)), worked out
# once: botocore keeps one shape object per model shape, and holding it here keeps its id unique.
_LAYOUTS: dict[int, tuple[Shape, tuple[str, ...], tuple[tuple[str, Shape, str], ...]]] = {}


def _layout(shape: Shape) -> tuple[tuple[str, ...], tuple[tuple[str, Shape, str], ...]]:
    entry = _LAYOUTS.get(id(shape))
    if entry is None or entry[0] is not shape:
        members = tuple((name, member, _camel(name)) for name, member in shape.members.items())
        entry = _LAYOUTS[id(shape)] = (shape, tuple(shape.required_members), members)
    return entry[1], entry[2]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 200 else value[:200] + "..."
        return f"'{text}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return "[...]" if isinstance(value, list) else "{...}"
    return f"'{value}'"


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    meta = shape.metadata
    where = path or "body"
    if kind == "structure":
        if not isinstance(value, dict):
            problems.append(f"Value {_show(value)} at '{where}' failed to satisfy constraint: Member must be a structure")
            return
        required, members = _layout(shape)
        for name in required:
            if value.get(name) is None:
                member_path = f"{path}.{_camel(name)}" if path else _camel(name)
                problems.append(f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null")
        for name, member, camel in members:
            item = value.get(name)
            if item is not None:
                _check(member, item, f"{path}.{camel}" if path else camel, problems)
        return
    if kind == "list":
        if not isinstance(value, list):
            problems.append(f"Value {_show(value)} at '{where}' failed to satisfy constraint: Member must be a list")
            return
        _length(meta, len(value), value, where, problems)
        for index, item in enumerate(value, 1):
            if item is not None:
                _check(shape.member, item, f"{where}.{index}.member", problems)
        return
    if kind == "map":
        if not isinstance(value, dict):
            problems.append(f"Value {_show(value)} at '{where}' failed to satisfy constraint: Member must be a map")
            return
        _length(meta, len(value), value, where, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{where}.key", problems)
            if item is not None:
                _check(shape.value, item, f"{where}.value", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"Value {_show(value)} at '{where}' failed to satisfy constraint: Member must be a string")
            return
        _length(meta, len(value), value, where, problems)
        if shape.enum and value not in shape.enum:
            allowed = ", ".join(shape.enum)
            problems.append(
                f"Value {_show(value)} at '{where}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{allowed}]"
            )
        pattern = meta.get("pattern")
        if pattern:
            compiled = _pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                problems.append(
                    f"Value {_show(value)} at '{where}' failed to satisfy constraint: "
                    f"Member must satisfy regular expression pattern: {pattern}"
                )
        return
    if kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"Value {_show(value)} at '{where}' failed to satisfy constraint: Member must be a number")
            return
        if "min" in meta and value < meta["min"]:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )
        return
    if kind == "blob" and isinstance(value, bytes | bytearray):
        _length(meta, len(value), "<blob>", where, problems)


def _length(meta: dict, size: int, value: Any, where: str, problems: list[str]) -> None:
    if "min" in meta and size < meta["min"]:
        problems.append(
            f"Value {_show(value)} at '{where}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {meta['min']}"
        )
    if "max" in meta and size > meta["max"]:
        problems.append(
            f"Value {_show(value)} at '{where}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {meta['max']}"
        )
