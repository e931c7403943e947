"""MXNet's NDArray file format (``mx.nd.save``/``mx.nd.load``) written and read with NumPy alone.

Amazon's algorithms are MXNet programs: K-Means and PCA leave their parameters in ``model_algo-1``, an
NDArray file, and notebooks read it with ``mx.ndarray.load("model_algo-1")`` (K-Means: a list whose
``[0]`` is the centers; PCA: a dict with ``"s"``, ``"v"`` and ``"mean"``). openmaker has no MXNet, so the
format is written here: an unnamed list or a name->array dict of dense arrays, each saved as MXNet 1.x
saves it (the "V2" layout with storage type), so MXNet 1.x and later read it. Reading accepts that layout
and the two older dense ones (V1 with 64-bit shape, V0 with 32-bit shape).

Layout (little-endian): ``u64 0x112, u64 0, u64 count``, then per array ``u32 0xF993FAC9, i32 stype=0,
i32 ndim, i64 dims[ndim], i32 dev_type=1 (cpu), i32 dev_id=0, i32 type_flag, raw data``, then ``u64
count`` names, each ``u64 length`` + UTF-8 bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA  # NumPy-shape semantics; the same bytes as V2 for a dense array
CPU = 1
# MXNet's type flags (mshadow) and the NumPy dtypes they are.
TYPE_FLAGS = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8, 6: np.int64}
FLAG_OF = {np.dtype(dtype): flag for flag, dtype in TYPE_FLAGS.items()}

Arrays = list[np.ndarray] | dict[str, np.ndarray]


class NDArrayFormatError(ValueError):
    """The file is not an MXNet NDArray file this reader understands."""


def _encode(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array)
    if array.dtype not in FLAG_OF:
        array = array.astype(np.float32)
    head = struct.pack("<Iii", V2_MAGIC, 0, array.ndim) + struct.pack(f"<{array.ndim}q", *array.shape)
    return head + struct.pack("<iii", CPU, 0, FLAG_OF[array.dtype]) + array.astype(array.dtype.newbyteorder("<")).tobytes()


def dumps(arrays: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> bytes:
    """The file's bytes for a list (``mx.nd.save(f, [a, b])``) or a dict (``mx.nd.save(f, {"s": a})``)."""
    if isinstance(arrays, Mapping):
        names, values = list(arrays), [np.asarray(v) for v in arrays.values()]
    else:
        names, values = [], [np.asarray(v) for v in arrays]
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(values))]
    parts += [_encode(value) for value in values]
    parts.append(struct.pack("<Q", len(names)))
    for name in names:
        raw = name.encode()
        parts.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(parts)


def save(path: str | Path, arrays: Sequence[np.ndarray] | Mapping[str, np.ndarray]) -> None:
    Path(path).write_bytes(dumps(arrays))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise NDArrayFormatError("The NDArray file ends early.")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise NDArrayFormatError("The NDArray file ends early.")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk


def _decode(reader: _Reader) -> np.ndarray:
    (magic,) = reader.take("<I")
    if magic in (V2_MAGIC, V3_MAGIC):
        (stype,) = reader.take("<i")
        if stype != 0:
            raise NDArrayFormatError("Sparse NDArrays are not supported.")
        (ndim,) = reader.take("<i")
        shape = reader.take(f"<{ndim}q") if ndim > 0 else ()
    elif magic == V1_MAGIC:
        (ndim,) = reader.take("<I")
        shape = reader.take(f"<{ndim}q")
    else:  # V0: the magic is the number of dimensions, each a u32
        ndim = magic
        if ndim > 32:
            raise NDArrayFormatError("Not an MXNet NDArray file.")
        shape = reader.take(f"<{ndim}I")
    if ndim <= 0:
        return np.zeros(0, dtype=np.float32)
    reader.take("<ii")  # context: saved on a CPU or GPU, loaded here on the CPU
    (flag,) = reader.take("<i")
    if flag not in TYPE_FLAGS:
        raise NDArrayFormatError(f"Unknown NDArray type flag {flag}.")
    dtype = np.dtype(TYPE_FLAGS[flag]).newbyteorder("<")
    count = int(np.prod(shape))
    return np.frombuffer(reader.raw(count * dtype.itemsize), dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def loads(data: bytes) -> Arrays:
    """A list of arrays, or a dict when the file names them (what ``mx.nd.load`` returns)."""
    reader = _Reader(data)
    magic, _reserved, count = reader.take("<QQQ")
    if magic != LIST_MAGIC:
        raise NDArrayFormatError("Not an MXNet NDArray file (bad magic number).")
    arrays = [_decode(reader) for _ in range(count)]
    (named,) = reader.take("<Q")
    if not named:
        return arrays
    if named != count:
        raise NDArrayFormatError(f"The NDArray file names {named} of its {count} arrays.")
    names = []
    for _ in range(named):
        (length,) = reader.take("<Q")
        names.append(reader.raw(length).decode())
    return dict(zip(names, arrays, strict=True))


def load(path: str | Path) -> Arrays:
    return loads(Path(path).read_bytes())
