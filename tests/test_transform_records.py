"""Record framing and DataProcessing of batch transform, on bytes (no server needed): the parts whose
exact behaviour is defined by formats (RecordIO, TFRecord) and by SageMaker's JSONPath rules."""

from __future__ import annotations

import io
import struct

import anycrc
import pytest

from openmaker.engine.data_processing import (
    DataProcessing,
    DataProcessingError,
    compile_path,
    select,
    split_output,
)
from openmaker.engine.record_split import RECORDIO_MAGIC, RecordError, batches, split

CRC32C = anycrc.Model("CRC32C")


def recordio(data: bytes, flag: int = 0) -> bytes:
    padding = b"\0" * (-len(data) % 4)
    return struct.pack("<II", RECORDIO_MAGIC, (flag << 29) | len(data)) + data + padding


def masked(data: bytes) -> int:
    crc = CRC32C.calc(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked(length)) + data + struct.pack("<I", masked(data))


def records(data: bytes, split_type: str, limit: int | None = None) -> list[bytes]:
    return list(split(io.BytesIO(data), split_type, limit))


def test_lines_drop_terminators_and_blank_lines():
    assert records(b"a,1\r\nb,2\n\n\nc,3", "Line") == [b"a,1", b"b,2", b"c,3"]


def test_recordio_keeps_framing_and_joins_multipart_records():
    one, two = recordio(b"abc"), recordio(b"12345678")
    multi = recordio(b"part1", 1) + recordio(b"part2", 2) + recordio(b"end", 3)
    assert records(one + multi + two, "RecordIO") == [one, multi, two]
    with pytest.raises(RecordError, match="magic"):
        records(b"\0" * 8, "RecordIO")
    with pytest.raises(RecordError, match="ends inside"):
        records(one[:-2], "RecordIO")


def test_tfrecord_checks_both_checksums():
    a, b = tfrecord(b"first"), tfrecord(b"")
    assert records(a + b, "TFRecord") == [a, b]
    corrupt = a[:-5] + b"X" + a[-4:]
    with pytest.raises(RecordError, match="data checksum"):
        records(corrupt, "TFRecord")


def test_none_is_one_record_within_the_payload_limit():
    assert records(b"\x00\x01\x02", "None", limit=10) == [b"\x00\x01\x02"]
    with pytest.raises(RecordError, match="MaxPayloadInMB"):
        records(b"x" * 11, "None", limit=10)


def test_batches_fill_the_payload_and_refuse_oversized_records():
    pairs = [(b"r%d" % i, b"r%d" % i) for i in range(10)]  # 3 bytes + newline each
    sized = list(batches(iter(pairs), "Line", "MultiRecord", 8, keep_inputs=False))
    assert [b.body for b in sized] == [b"r0\nr1\n", b"r2\nr3\n", b"r4\nr5\n", b"r6\nr7\n", b"r8\nr9\n"]
    single = list(batches(iter(pairs[:2]), "Line", "SingleRecord", None, keep_inputs=True))
    assert [(b.body, b.inputs) for b in single] == [(b"r0\n", [b"r0"]), (b"r1\n", [b"r1"])]
    with pytest.raises(RecordError, match="larger than MaxPayloadInMB"):
        list(batches(iter([(b"x" * 20, b"x" * 20)]), "Line", "MultiRecord", 8, keep_inputs=False))


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("$[1:]", ["a", "b", "c", "d"], ["b", "c", "d"]),
        ("$[1:2]", ["a", "b", "c", "d"], ["b", "c"]),  # SageMaker's slice end is inclusive
        ("$[:-1]", ["a", "b", "c"], ["a", "b", "c"]),
        ("$[0,-1]", ["a", "b", "c"], ["a", "c"]),
        ("$[2]", ["a", "b", "c"], ["c"]),
    ],
)
def test_csv_paths_select_columns(path, data, expected):
    assert select(compile_path(path, "InputFilter"), data, is_row=True) == expected


def test_json_paths_select_values_objects_and_arrays():
    record = {"id": 7, "features": [1, 2], "SageMakerOutput": {"score": 3}}
    assert select(compile_path("$.features", "f"), record, False) == [1, 2]
    assert select(compile_path("$['id','SageMakerOutput']", "f"), record, False) == {
        "id": 7,
        "SageMakerOutput": {"score": 3},
    }
    assert select(compile_path("$.features[0]", "f"), record, False) == 1
    with pytest.raises(DataProcessingError, match="selects nothing"):
        select(compile_path("$.missing", "f"), record, False)
    with pytest.raises(ValueError, match="must start with"):
        compile_path("features", "InputFilter")


def test_join_rules():
    csv = DataProcessing({"JoinSource": "Input", "OutputFilter": "$[0,-1]"}, "text/csv")
    assert csv.assemble([b'"a,b",1'], [b"0.5"], "text/csv") == [b'"a,b",0.5']
    json_in = DataProcessing({"JoinSource": "Input"}, "application/jsonlines")
    assert json_in.assemble([b'{"x":1}', b"[1,2]"], [b'{"s":1}', b'{"s":2}'], "application/jsonlines") == [
        b'{"x":1,"SageMakerOutput":{"s":1}}',
        b'{"SageMakerInput":[1,2],"SageMakerOutput":{"s":2}}',
    ]
    with pytest.raises(DataProcessingError, match="CSV or JSON input"):
        DataProcessing({"JoinSource": "Input"}, "application/x-image")


def test_split_output_accepts_lines_or_one_json_array():
    assert split_output(b"1\n2\n", 2, "text/csv") == [b"1", b"2"]
    assert split_output(b'{"predictions":[{"score":1},{"score":2}]}', 2, "application/json") == [
        b'{"score":1}',
        b'{"score":2}',
    ]
    with pytest.raises(DataProcessingError, match="3 input records"):
        split_output(b"1\n2\n", 3, "text/csv")
