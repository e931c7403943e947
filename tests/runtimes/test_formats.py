"""The built-in algorithms' data formats, checked against the SageMaker SDK's own writer and reader.

The SDK (``sagemaker.amazon.common``: ``write_numpy_to_dense_tensor``, ``write_spmatrix_to_sparse_tensor``,
``read_records``, ``RecordSerializer``, ``RecordDeserializer``) is the reference: what it writes we must
read, what we write it must read, and for the same input our writer produces the same bytes.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

from sagemaker.amazon.common import (
    RecordDeserializer,
    RecordSerializer,
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from sagemaker.amazon.record_pb2 import Record as SdkRecord

from openmaker.runtimes.formats import (
    DataFormatError,
    UnsupportedContentTypeError,
    wire,
)
from openmaker.runtimes.formats.inference import decode_request, encode_predictions, parse_request
from openmaker.runtimes.formats.protobuf import (
    SparseVector,
    decode_record,
    encode_dense,
    encode_record,
    encode_sparse,
    iter_records,
    parse_record,
    read_protobuf,
)
from openmaker.runtimes.formats.reader import data_files, read_training_data
from openmaker.runtimes.formats.recordio import MAGIC_BYTES, frame, write_record

RNG = np.random.default_rng(7)


def sdk_dense(x: np.ndarray, y: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, x, y)
    return buffer.getvalue()


def sdk_sparse(x: sp.spmatrix, y: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, x, y)
    return buffer.getvalue()


def sdk_read(data: bytes) -> list:
    return read_records(io.BytesIO(data))


def tensor_of(value) -> object:  # the set member of an SDK Value
    return getattr(value, value.WhichOneof("value"))


# -- recordio-protobuf against the SDK -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (RNG.random((20, 7), dtype=np.float32), RNG.random(20)),  # float32 features, float64 labels
        (RNG.random((20, 7)), RNG.integers(0, 3, 20)),  # float64 features, int labels (Int32Tensor)
        (RNG.random((20, 7), dtype=np.float32), RNG.random(20).astype(np.float32)),
        (RNG.integers(-5, 500, (10, 4)), None),  # int features: negative varints too
        (RNG.random((3, 1), dtype=np.float32), None),
    ],
)
def test_dense_matches_the_sdk_both_ways(x: np.ndarray, y: np.ndarray | None) -> None:
    reference = sdk_dense(x, y)
    assert encode_dense(x, y) == reference  # byte for byte
    X, labels = read_protobuf(reference)
    assert X.dtype == (np.int32 if x.dtype.kind == "i" else x.dtype)
    np.testing.assert_array_equal(X, x)
    if y is None:
        assert labels is None
    else:
        np.testing.assert_array_equal(labels, y)
    for i, record in enumerate(sdk_read(encode_dense(x, y))):
        np.testing.assert_array_equal(np.array(tensor_of(record.features["values"]).values), x[i])
        if y is not None:
            assert tensor_of(record.label["values"]).values[0] == pytest.approx(y[i])


def test_empty_features_round_trip() -> None:
    x = np.zeros((3, 0), dtype=np.float32)
    y = np.array([1.0, 2.0, 3.0])
    assert encode_dense(x, y) == sdk_dense(x, y)
    X, labels = read_protobuf(sdk_dense(x, y))
    assert X.shape == (3, 0)
    np.testing.assert_array_equal(labels, y)
    assert [r.label["values"].float64_tensor.values[0] for r in sdk_read(encode_dense(x, y))] == [
        1.0,
        2.0,
        3.0,
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_matches_the_sdk_both_ways(dtype: type) -> None:
    x = sp.random(30, 8934, density=0.001, format="csr", dtype=dtype, random_state=3)
    x[4] = 0  # an all-zero row: no keys, no values, only the shape
    x.eliminate_zeros()
    y = RNG.random(30)
    reference = sdk_sparse(x, y)
    assert encode_sparse(x, y) == reference
    X, labels = read_protobuf(reference)
    assert sp.issparse(X) and X.shape == (30, 8934) and X.dtype == dtype
    assert (x != X).nnz == 0
    np.testing.assert_array_equal(labels, y)
    records = sdk_read(encode_sparse(x, y))
    row = x.getrow(7)
    tensor = tensor_of(records[7].features["values"])
    assert list(tensor.keys) == row.indices.tolist() and list(tensor.shape) == [8934]
    np.testing.assert_allclose(tensor.values, row.data)


def test_sparse_one_hot_like_chapter_6() -> None:
    """Factorization Machines' input: user + item one-hot rows written by write_spmatrix_to_sparse_tensor."""
    users, items = RNG.integers(0, 8000, 500), RNG.integers(8000, 8934, 500)
    rows = np.repeat(np.arange(500), 2)
    x = sp.csr_matrix(
        (np.ones(1000, np.float32), (rows, np.ravel(np.column_stack([users, items])))), shape=(500, 8934)
    )
    y = RNG.random(500).astype(np.float32)
    X, labels = read_protobuf(sdk_sparse(x, y), feature_dim=8934)
    assert (x != X).nnz == 0 and labels.dtype == np.float32
    with pytest.raises(DataFormatError, match="feature_dim is 100"):
        read_protobuf(sdk_sparse(x, y), feature_dim=100)


def test_decode_record_dense_sparse_and_labels() -> None:
    dense = next(iter_records(sdk_dense(np.array([[1.5, 2.5]], np.float32), np.array([3.0]))))
    features, label = decode_record(dense)
    np.testing.assert_array_equal(features, [1.5, 2.5])
    np.testing.assert_array_equal(label, [3.0])
    sparse = next(iter_records(sdk_sparse(sp.csr_matrix(np.array([[0, 0, 4.0, 0]], np.float32)))))
    features, label = decode_record(sparse)
    assert isinstance(features, SparseVector) and features.shape == (4,) and label is None
    assert features.keys.tolist() == [2] and features.values.tolist() == [4.0]


def test_records_the_sdk_cannot_write_but_may_meet() -> None:
    """Unpacked repeated fields (legal protobuf), several features, uid/metadata: the full parser path."""
    unpacked = b"".join(wire.key(1, wire.FIXED32) + np.float32(v).tobytes() for v in (1.0, 2.0, 3.0))
    value = wire.length_delimited(2, unpacked)  # Float32Tensor with unpacked values
    extra = encode_record({"other": np.array([9.0], np.float32)})
    entry = wire.length_delimited(1, wire.length_delimited(1, b"values") + wire.length_delimited(2, value))
    payload = (
        extra + entry + wire.length_delimited(3, b"uid-1") + encode_record(label={"values": np.array([5.0])})
    )
    record = parse_record(payload)
    assert record.uid == "uid-1" and list(record.features) == ["other", "values"]
    np.testing.assert_array_equal(record.features["values"].values, [1.0, 2.0, 3.0])
    X, y = read_protobuf(frame(payload) * 3)
    np.testing.assert_array_equal(X, [[1.0, 2.0, 3.0]] * 3)
    np.testing.assert_array_equal(y, [5.0] * 3)
    sdk = SdkRecord()
    sdk.ParseFromString(payload)
    assert list(sdk.features["values"].float32_tensor.values) == [1.0, 2.0, 3.0]


def test_mixed_dense_and_sparse_records_and_kinds() -> None:
    data = sdk_sparse(sp.csr_matrix(np.array([[0, 2.0, 0]], np.float32))) + sdk_dense(
        np.array([[1.0, 0, 3.0]], np.float32)
    )
    X, _ = read_protobuf(data)
    assert sp.issparse(X)
    np.testing.assert_array_equal(X.toarray(), [[0, 2.0, 0], [1.0, 0, 3.0]])
    data = sdk_dense(np.array([[1.0, 2.0]], np.float32)) + sdk_dense(np.array([[3.0, 4.0]]))
    X, _ = read_protobuf(data)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


def test_dense_records_of_different_widths_fail() -> None:
    data = sdk_dense(np.ones((2, 3), np.float32)) + sdk_dense(np.ones((1, 4), np.float32))
    with pytest.raises(DataFormatError, match="record 1 has 3, record 3 has 4"):
        read_protobuf(data)


# -- RecordIO framing ------------------------------------------------------------------------------------


def test_recordio_multipart_records_are_joined() -> None:
    x = np.frombuffer(MAGIC_BYTES * 4, dtype=np.float32).reshape(1, 4)  # the magic word inside the data
    payload = next(iter_records(sdk_dense(x)))
    split = frame(payload, split=True)
    assert split != frame(payload) and split.count(MAGIC_BYTES) > 2
    assert list(iter_records(split)) == [payload]
    assert list(iter_records(io.BytesIO(split + frame(payload)))) == [payload, payload]
    X, _ = read_protobuf(split + frame(payload))
    np.testing.assert_array_equal(X.view(np.uint32), np.vstack([x, x]).view(np.uint32))
    buffer = io.BytesIO()
    write_record(buffer, payload)
    assert [r.SerializeToString() for r in sdk_read(buffer.getvalue())] == [payload]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * 12, "magic number"),
        (frame(b"abcdef")[:-3], "truncated"),
        (b"\x0a\x23\xd7\xce", "stray bytes"),
    ],
)
def test_recordio_errors(data: bytes, message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        list(iter_records(data))


# -- requests and responses ------------------------------------------------------------------------------


def test_record_serializer_requests_and_record_deserializer_responses() -> None:
    x = RNG.random((4, 3))
    body = RecordSerializer().serialize(x).read()
    np.testing.assert_array_equal(decode_request(body, "application/x-recordio-protobuf", 3), x)
    predictions = [{"score": 0.25, "predicted_label": 1.0}, {"score": 0.75, "predicted_label": 0.0}]
    data, content_type = encode_predictions(predictions, "application/x-recordio-protobuf")
    assert content_type == "application/x-recordio-protobuf"
    records = RecordDeserializer().deserialize(io.BytesIO(data), content_type)
    assert [r.label["score"].float32_tensor.values[0] for r in records] == [0.25, 0.75]
    assert [r.label["predicted_label"].float32_tensor.values[0] for r in records] == [1.0, 0.0]


def test_json_sparse_request_of_chapter_6() -> None:
    body = json.dumps(
        {"instances": [{"data": {"features": {"shape": [8934], "keys": [12, 8100], "values": [1, 1]}}}] * 2}
    ).encode()
    X = decode_request(body, "application/json", 8934)
    assert sp.issparse(X) and X.shape == (2, 8934) and X[1, 8100] == 1 and X.nnz == 4
    with pytest.raises(DataFormatError) as error:
        decode_request(body, "application/json", 100)
    assert error.value.status == 400


def test_json_dense_jsonlines_csv_npy_and_libsvm_requests() -> None:
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    dense = json.dumps({"instances": [{"features": r} for r in rows], "configuration": {"k": 3}}).encode()
    request = parse_request(dense, "application/json; charset=utf-8", 3)
    np.testing.assert_array_equal(request.X, rows)
    assert request.configuration == {"k": 3}
    lines = "\n".join(json.dumps({"features": r}) for r in rows).encode()
    np.testing.assert_array_equal(decode_request(lines, "application/jsonlines"), rows)
    np.testing.assert_array_equal(decode_request(b"1,2,3\n4,5,6\n", "text/csv", 3), rows)
    npy = io.BytesIO()
    np.save(npy, np.array(rows))
    np.testing.assert_array_equal(decode_request(npy.getvalue(), "application/x-npy"), rows)
    X = decode_request(b"0:1 2:3\n1:5\n", "text/libsvm", 3)
    np.testing.assert_array_equal(X.toarray(), [[1, 0, 3], [0, 5, 0]])
    with pytest.raises(DataFormatError, match="expected size 3"):
        decode_request(b"1,2,3\n4,5\n", "text/csv", 3)


def test_request_errors_carry_http_statuses() -> None:
    with pytest.raises(UnsupportedContentTypeError) as error:
        decode_request(b"x", "image/png")
    assert error.value.status == 415
    with pytest.raises(DataFormatError) as error:
        decode_request(b"{not json", "application/json")
    assert error.value.status == 400 and "not valid JSON" in error.value.message
    with pytest.raises(UnsupportedContentTypeError) as error:
        encode_predictions([{"score": 1.0}], "image/png")
    assert error.value.status == 406


def test_encode_predictions_json_jsonlines_csv() -> None:
    predictions = [{"score": np.float32(0.5), "predicted_label": 1}, {"score": 0.25, "predicted_label": 0}]
    body, content_type = encode_predictions(predictions, "application/json")
    assert content_type == "application/json"
    assert json.loads(body) == {
        "predictions": [{"score": 0.5, "predicted_label": 1}, {"score": 0.25, "predicted_label": 0}]
    }
    body, content_type = encode_predictions(predictions, "application/jsonlines")
    assert [json.loads(line) for line in body.decode().splitlines()][1] == {
        "score": 0.25,
        "predicted_label": 0,
    }
    body, content_type = encode_predictions(
        [{"closest_cluster": 2.0, "distance_to_cluster": 0.5}], "text/csv"
    )
    assert (body, content_type) == (b"2.0,0.5\n", "text/csv")
    assert encode_predictions(predictions, "*/*")[1] == "application/json"
    assert encode_predictions(predictions, None)[1] == "application/json"


# -- training channels -----------------------------------------------------------------------------------


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_csv_channel_with_label_weights_and_without(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "1,0.5,2,3\n0,1.5,4,5\n")
    write(tmp_path / "sub" / "b.csv", "1,2.0,6,\n")  # an empty field is a missing value
    write(tmp_path / ".hidden", "garbage")
    write(tmp_path / "_SUCCESS", "")
    data = read_training_data(tmp_path, "text/csv")
    assert [f.name for f in data.files] == ["a.csv", "b.csv"]
    np.testing.assert_array_equal(data.y, [1, 0, 1])
    assert data.X.shape == (3, 3) and np.isnan(data.X[2, 2])
    weighted = read_training_data(tmp_path, "csv", weights=True)
    np.testing.assert_array_equal(weighted.weights, [0.5, 1.5, 2.0])
    assert weighted.X.shape == (3, 2)
    unlabelled = read_training_data(tmp_path, "text/csv;label_size=0")
    assert unlabelled.y is None and unlabelled.X.shape == (3, 4)


def test_csv_wrong_column_count_message(tmp_path: Path) -> None:
    path = write(tmp_path / "train.csv", "1,2,3\n4,5,6\n7,8\n9,10\n11,12,13\n")
    with pytest.raises(DataFormatError) as error:
        read_training_data(tmp_path, "text/csv")
    assert error.value.message == f"Rows 3-4 in file {path} have different fields than the expected size 3."
    with pytest.raises(DataFormatError, match=r"Rows 1-5 .* expected size 12"):
        read_training_data(tmp_path, "text/csv", feature_dim=11)


def test_csv_header_row_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "train.csv", "medv,crim\n1,2\n")
    with pytest.raises(DataFormatError, match="must be numeric"):
        read_training_data(tmp_path, "text/csv")


def test_chapter_3_housing_csv(tmp_path: Path) -> None:
    housing = (
        Path(__file__).resolve().parents[2].parent / "shared/datasets/book/chapter3/training-housing.csv"
    )
    if not housing.exists():
        pytest.skip("shared datasets not present")
    data = read_training_data(housing, "text/csv", feature_dim=11)
    assert data.X.shape[1] == 11 and data.y.shape == (data.X.shape[0],)


def test_libsvm_indices_as_xgboost_reads_them(tmp_path: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    one_based = write(tmp_path / "one" / "train.libsvm", "1 1:0.5 3:2\n0 2:1.5\n1:2.0 qid:3 4:1 # comment\n")
    zero_based = write(tmp_path / "zero" / "train.libsvm", "1 0:0.5 2:2\n0 1:1.5\n")
    for path in (one_based, zero_based):
        data = read_training_data(path.parent, "text/x-libsvm")
        reference = xgb.DMatrix(f"{path}?format=libsvm")
        assert data.X.shape == (reference.num_row(), reference.num_col())
        np.testing.assert_array_equal(data.y, reference.get_label())
        csr = reference.get_data()
        np.testing.assert_array_equal(data.X.toarray(), csr.toarray())
    np.testing.assert_array_equal(read_training_data(one_based, "libsvm").weights, [1.0, 1.0, 2.0])
    write(tmp_path / "bad" / "x.libsvm", "1 a:b\n")
    with pytest.raises(DataFormatError, match="is not 'LIBSVM' format"):
        read_training_data(tmp_path / "bad", "text/libsvm")


def test_recordio_channel_of_several_files_like_record_set(tmp_path: Path) -> None:
    """``record_set()`` uploads shards and a manifest; staged, a channel is just the shard files."""
    x, y = RNG.random((10, 5), dtype=np.float32), RNG.random(10)
    write(tmp_path / "matrix_0.pbr", sdk_dense(x[:6], y[:6]))
    write(tmp_path / "matrix_1.pbr", sdk_dense(x[6:], y[6:]))
    data = read_training_data(tmp_path, "application/x-recordio-protobuf", feature_dim=5)
    np.testing.assert_array_equal(data.X, x)
    np.testing.assert_array_equal(data.y, y)
    write(tmp_path / "matrix_2.pbr", sdk_sparse(sp.csr_matrix(x[:2]), y[:2]))  # and a sparse shard
    data = read_training_data(tmp_path, "application/x-recordio-protobuf")
    assert sp.issparse(data.X) and data.X.shape == (12, 5)
    np.testing.assert_allclose(data.X.toarray(), np.vstack([x, x[:2]]))


def test_parquet_channel(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame_ = pd.DataFrame({"label": [1.0, 0.0, 1.0], "a": [0.5, 1.5, 2.5], "b": [3, 4, 5]})
    frame_.to_parquet(tmp_path / "part-0.parquet")
    data = read_training_data(tmp_path, "application/x-parquet")
    np.testing.assert_array_equal(data.y, [1, 0, 1])
    np.testing.assert_array_equal(data.X, [[0.5, 3], [1.5, 4], [2.5, 5]])


def test_json_and_jsonlines_channels(tmp_path: Path) -> None:
    write(
        tmp_path / "j" / "a.json",
        json.dumps({"instances": [{"features": [1, 2], "label": 1}, {"features": [3, 4], "label": 0}]}),
    )
    data = read_training_data(tmp_path / "j", "application/json")
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(data.y, [1, 0])
    write(
        tmp_path / "l" / "a.jsonl",
        '{"features": [1, 2]}\n\n{"data": {"features": {"shape": [2], "keys": [1], "values": [5]}}}\n',
    )
    data = read_training_data(tmp_path / "l", "application/jsonlines")
    assert sp.issparse(data.X)
    np.testing.assert_array_equal(data.X.toarray(), [[1, 2], [0, 5]])


def test_channel_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="No data files"):
        read_training_data(tmp_path, "text/csv")
    write(tmp_path / "a", "1,2\n")
    with pytest.raises(UnsupportedContentTypeError):
        read_training_data(tmp_path, "image/jpeg")
    assert data_files(tmp_path / "a") == [tmp_path / "a"]


# -- many records (speed is measured in bench/formats.py, not here) ------------------------------------


def test_decoding_100k_dense_records() -> None:
    x = RNG.random((100_000, 50), dtype=np.float32)
    y = RNG.random(100_000)
    X, labels = read_protobuf(encode_dense(x, y))
    np.testing.assert_array_equal(X, x)
    np.testing.assert_array_equal(labels, y)
