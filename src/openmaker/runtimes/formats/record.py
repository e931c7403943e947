"""SageMaker's ``aialgs.data.Record`` message (the SDK's ``record.proto``), parsed and built by hand.

    Record   { map<string, Value> features = 1; map<string, Value> label = 2;
               optional string uid = 3, metadata = 4, configuration = 5; }
    Value    { oneof { Float32Tensor float32_tensor = 2; Float64Tensor float64_tensor = 3;
                       Int32Tensor int32_tensor = 7; Bytes bytes = 9; } }
    *Tensor  { repeated <float|double|int32> values = 1 [packed]; repeated uint64 keys = 2 [packed];
               repeated uint64 shape = 3 [packed]; }
    Bytes    { repeated bytes value = 1; optional string content_type = 2; }

A map entry is a sub-message ``{string key = 1; Value value = 2}``. A tensor with keys is sparse (keys are
flat indices into ``shape``); without keys it is dense. This module is the one-record view, used for
requests, responses and odd records; :mod:`.protobuf_read` decodes whole files without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openmaker.runtimes.formats import wire
from openmaker.runtimes.formats.errors import DataFormatError

FLOAT32, FLOAT64, INT32, BYTES = "float32", "float64", "int32", "bytes"
VALUE_FIELDS = {FLOAT32: 2, FLOAT64: 3, INT32: 7, BYTES: 9}
KINDS = {number: kind for kind, number in VALUE_FIELDS.items()}
DTYPES = {FLOAT32: np.dtype("<f4"), FLOAT64: np.dtype("<f8"), INT32: np.dtype("<i4")}
VALUES = "values"  # the feature / label name every built-in algorithm reads


@dataclass
class Tensor:
    """One ``Value``: a dense or sparse tensor (or, for ``bytes``, a list of blobs in ``values``)."""

    kind: str
    values: np.ndarray | list[bytes]
    keys: np.ndarray | None = None
    shape: tuple[int, ...] | None = None
    content_type: str | None = None

    @property
    def is_sparse(self) -> bool:
        """Keys make a tensor sparse; so does a shape its values do not fill (an all-zero sparse row)."""
        if self.kind == BYTES:
            return False
        if self.keys is not None and len(self.keys):
            return True
        return self.shape is not None and len(self.values) != int(np.prod(self.shape))


@dataclass
class Record:
    """A whole ``Record``; maps keep the order they were read or given in."""

    features: dict[str, Tensor] = field(default_factory=dict)
    label: dict[str, Tensor] = field(default_factory=dict)
    uid: str | None = None
    metadata: str | None = None
    configuration: str | None = None


def kind_of(dtype: np.dtype) -> str:
    """The tensor kind the SDK's writer picks for a dtype (extended to every int and small float)."""
    if dtype == np.float32 or dtype == np.float16:
        return FLOAT32
    if dtype == np.float64:
        return FLOAT64
    if dtype.kind in "iub":
        return INT32
    raise DataFormatError(f"Unsupported dtype {dtype} for a recordio-protobuf tensor.")


# -- parsing -------------------------------------------------------------------------------------------


def _varints(buf: wire.Buffer, a: int, b: int, wire_type: int, packed: list[np.ndarray], value: int) -> None:
    if wire_type == wire.LENGTH:
        packed.append(wire.decode_varints(buf[a:b]))
    elif wire_type == wire.VARINT:
        packed.append(np.array([value], dtype=np.uint64))
    else:
        raise DataFormatError("Malformed protobuf Record: a keys/shape field has the wrong wire type.")


def _values(kind: str, buf: wire.Buffer, a: int, b: int, wire_type: int, parts: list[np.ndarray]) -> None:
    dtype = DTYPES[kind]
    if kind == INT32:
        if wire_type == wire.LENGTH:
            parts.append(wire.decode_varints(buf[a:b]).view(np.int64).astype(dtype))
        elif wire_type == wire.VARINT:
            parts.append(np.array([a], dtype=np.uint64).view(np.int64).astype(dtype))
        else:
            raise DataFormatError("Malformed protobuf Record: int32 values with the wrong wire type.")
        return
    expected = wire.FIXED32 if kind == FLOAT32 else wire.FIXED64
    if wire_type not in (wire.LENGTH, expected) or (b - a) % dtype.itemsize:
        raise DataFormatError(f"Malformed protobuf Record: {kind} values with the wrong wire type or length.")
    parts.append(np.frombuffer(buf[a:b], dtype=dtype))


def _concat(parts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)


def parse_tensor(kind: str, buf: wire.Buffer, pos: int, end: int) -> Tensor:
    """A ``*Tensor`` (or ``Bytes``) message."""
    if kind == BYTES:
        blobs: list[bytes] = []
        content_type = None
        for number, wire_type, a, b in wire.iter_fields(buf, pos, end):
            if number == 1 and wire_type == wire.LENGTH:
                blobs.append(bytes(buf[a:b]))
            elif number == 2 and wire_type == wire.LENGTH:
                content_type = bytes(buf[a:b]).decode("utf-8", "replace")
        return Tensor(BYTES, blobs, content_type=content_type)
    values: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    shape: list[np.ndarray] = []
    for number, wire_type, a, b in wire.iter_fields(buf, pos, end):
        if number == 1:
            _values(kind, buf, a, b, wire_type, values)
        elif number == 2:
            _varints(buf, a, b, wire_type, keys, a)
        elif number == 3:
            _varints(buf, a, b, wire_type, shape, a)
    key_array = _concat(keys, np.dtype(np.uint64)) if keys else None
    shape_tuple = tuple(int(s) for s in _concat(shape, np.dtype(np.uint64))) if shape else None
    return Tensor(kind, _concat(values, DTYPES[kind]), key_array, shape_tuple)


def parse_value(buf: wire.Buffer, pos: int, end: int) -> Tensor:
    """A ``Value``: whichever tensor of the oneof is set (the last one wins, as in protobuf)."""
    tensor = Tensor(FLOAT32, np.zeros(0, dtype=DTYPES[FLOAT32]))
    for number, wire_type, a, b in wire.iter_fields(buf, pos, end):
        kind = KINDS.get(number)
        if kind is not None and wire_type == wire.LENGTH:
            tensor = parse_tensor(kind, buf, a, b)
    return tensor


def _map_entry(buf: wire.Buffer, pos: int, end: int) -> tuple[str, Tensor]:
    name = ""
    tensor = Tensor(FLOAT32, np.zeros(0, dtype=DTYPES[FLOAT32]))
    for number, wire_type, a, b in wire.iter_fields(buf, pos, end):
        if number == 1 and wire_type == wire.LENGTH:
            name = bytes(buf[a:b]).decode("utf-8", "replace")
        elif number == 2 and wire_type == wire.LENGTH:
            tensor = parse_value(buf, a, b)
    return name, tensor


def parse_record(payload: wire.Buffer) -> Record:
    """A whole ``Record`` from its serialized bytes."""
    record = Record()
    for number, wire_type, a, b in wire.iter_fields(payload, 0, len(payload)):
        if wire_type != wire.LENGTH:
            continue
        if number in (1, 2):
            name, tensor = _map_entry(payload, a, b)
            (record.features if number == 1 else record.label)[name] = tensor
        elif number in (3, 4, 5):
            text = bytes(payload[a:b]).decode("utf-8", "replace")
            setattr(record, ("uid", "metadata", "configuration")[number - 3], text)
    return record


# -- building ------------------------------------------------------------------------------------------


def packed_values(kind: str, values: np.ndarray) -> bytes:
    """The content of a packed ``values`` field."""
    if kind == INT32:
        array = np.asarray(values)
        if array.size and (array.min() < -(2**31) or array.max() >= 2**31):
            raise DataFormatError("Integer values do not fit an Int32Tensor.")
        return wire.encode_varints(array.astype(np.int64))[0].tobytes()
    return np.asarray(values, dtype=DTYPES[kind]).tobytes()


def tensor_payload(
    kind: str, values_bytes: bytes, keys_bytes: bytes = b"", shape_bytes: bytes = b""
) -> bytes:
    """A ``Value`` holding one tensor, from the already-encoded packed fields (empty ones are omitted)."""
    body = b"".join(
        wire.length_delimited(number, data)
        for number, data in ((1, values_bytes), (2, keys_bytes), (3, shape_bytes))
        if data
    )
    return wire.length_delimited(VALUE_FIELDS[kind], body)


def map_entry(number: int, name: str, value_payload: bytes) -> bytes:
    """A ``features`` (1) or ``label`` (2) map entry."""
    entry = wire.length_delimited(1, name.encode("utf-8")) + wire.length_delimited(2, value_payload)
    return wire.length_delimited(number, entry)


def tensor_of(value: Tensor | np.ndarray | float | int | list) -> Tensor:
    """Anything array-like as a dense tensor of the SDK's kind for its dtype."""
    if isinstance(value, Tensor):
        return value
    array = np.atleast_1d(np.asarray(value))
    if array.dtype.kind in "iub":
        return Tensor(INT32, array.ravel())
    if array.dtype.kind != "f":
        raise DataFormatError(f"Cannot store {array.dtype} values in a recordio-protobuf tensor.")
    return Tensor(kind_of(array.dtype), array.ravel())


def encode_tensor(tensor: Tensor) -> bytes:
    """A ``Value`` message for a tensor (dense or sparse, any kind)."""
    if tensor.kind == BYTES:
        body = b"".join(wire.length_delimited(1, blob) for blob in tensor.values)
        if tensor.content_type is not None:
            body += wire.length_delimited(2, tensor.content_type.encode("utf-8"))
        return wire.length_delimited(VALUE_FIELDS[BYTES], body)
    keys = (
        b"" if tensor.keys is None else wire.encode_varints(np.asarray(tensor.keys, np.uint64))[0].tobytes()
    )
    shape = (
        b"" if tensor.shape is None else wire.encode_varints(np.asarray(tensor.shape, np.uint64))[0].tobytes()
    )
    return tensor_payload(tensor.kind, packed_values(tensor.kind, tensor.values), keys, shape)


def encode_record(
    features: dict[str, Tensor | np.ndarray] | None = None,
    label: dict[str, Tensor | np.ndarray | float | int | list] | None = None,
    *,
    uid: str | None = None,
    metadata: str | None = None,
    configuration: str | None = None,
) -> bytes:
    """One ``Record``, serialized (not framed): the general, unhurried builder."""
    parts = [map_entry(1, name, encode_tensor(tensor_of(v))) for name, v in (features or {}).items()]
    parts += [map_entry(2, name, encode_tensor(tensor_of(v))) for name, v in (label or {}).items()]
    for number, text in ((3, uid), (4, metadata), (5, configuration)):
        if text is not None:
            parts.append(wire.length_delimited(number, text.encode("utf-8")))
    return b"".join(parts)
