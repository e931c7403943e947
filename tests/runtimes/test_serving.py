"""The model server, run as the hosting engine runs it: a subprocess on an /opt/ml-like tree.

Each test starts ``python -m openmaker.runtimes.serving`` on a free port with ``OPENMAKER_OPT_ML`` pointing
at a tmp tree holding a real model, waits for ``GET /ping`` and talks HTTP to it. No openmaker server is
needed except for the ``s3://…/sourcedir.tar.gz`` test.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.naive_bayes import MultinomialNB

from serverutil import free_port

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "serving"
HOUSING = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "book" / "chapter3" / "training-housing.csv"
STARTUP_SECONDS = 120


class ModelServer:
    """One model server process and a keep-alive connection to it."""

    def __init__(self, opt_ml: Path, env: dict[str, str], python: str = sys.executable) -> None:
        self.opt_ml = opt_ml
        self.port = free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "OPENMAKER_", "SAGEMAKER_"))}
        clean.update(env)
        clean.update(OPENMAKER_OPT_ML=str(opt_ml), SAGEMAKER_BIND_TO_PORT=str(self.port))
        self.log_path = opt_ml / "server.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([python, "-m", "openmaker.runtimes.serving"], env=clean,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self) -> ModelServer:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"model server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/ping")[0] == 200:
                    return self
            except OSError:
                self.connection.close()
                time.sleep(0.1)
        raise AssertionError(f"model server did not answer /ping:\n{self.log()}")

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()

    def invoke(self, body: bytes | str, content_type: str | None = None, accept: str | None = None,
               **headers: str) -> tuple[int, str, bytes]:
        sent = dict(headers)
        if content_type:
            sent["Content-Type"] = content_type
        if accept:
            sent["Accept"] = accept
        return self.request("POST", "/invocations", body, sent)

    def stop(self) -> None:
        self.connection.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start(tmp_path: Path):
    servers: list[ModelServer] = []

    def _start(opt_ml: Path, python: str = sys.executable, **env: str) -> ModelServer:
        server = ModelServer(opt_ml, env, python)
        servers.append(server)
        return server.wait()

    yield _start
    for server in servers:
        server.stop()


def opt_ml_tree(root: Path) -> Path:
    (root / "model").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def housing() -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(HOUSING, delimiter=",")
    return data[:, 1:], data[:, 0]


@pytest.fixture(scope="module")
def regression(housing) -> LinearRegression:
    features, labels = housing
    return LinearRegression().fit(features, labels)


@pytest.fixture
def sklearn_tree(tmp_path: Path, regression) -> Path:
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    joblib.dump(regression, opt_ml / "model" / "model.joblib")
    return opt_ml


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def csv_rows(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


# --- scikit-learn defaults ----------------------------------------------------------------------------


def test_sklearn_defaults_csv_json_npy(start, sklearn_tree: Path, regression, housing) -> None:
    features = housing[0][:5]
    expected = regression.predict(features)
    server = start(sklearn_tree, OPENMAKER_FRAMEWORK="sklearn")

    assert server.request("GET", "/ping")[0] == 200
    status, content_type, body = server.invoke(csv_rows(features), "text/csv")
    assert (status, content_type) == (200, "application/json")  # the toolkit's default Accept
    np.testing.assert_allclose(json.loads(body), expected, rtol=1e-12)

    status, content_type, body = server.invoke(csv_rows(features), "text/csv", "text/csv")
    assert (status, content_type) == (200, "text/csv")
    np.testing.assert_allclose([float(line) for line in body.decode().splitlines()], expected, rtol=1e-12)

    status, _, body = server.invoke(json.dumps(features.tolist()), "application/json", "application/json")
    np.testing.assert_allclose(json.loads(body), expected, rtol=1e-12)
    status, _, body = server.invoke(json.dumps({"instances": features[:1].tolist()}), "application/json")
    np.testing.assert_allclose(json.loads(body), expected[:1], rtol=1e-12)
    status, _, body = server.invoke(json.dumps(features[0].tolist()), "application/json")  # one flat record
    np.testing.assert_allclose(json.loads(body), expected[:1], rtol=1e-12)

    # What SKLearnPredictor sends and accepts.
    status, content_type, body = server.invoke(npy(features), "application/x-npy", "application/x-npy")
    assert (status, content_type) == (200, "application/x-npy")
    np.testing.assert_allclose(np.load(io.BytesIO(body)), expected, rtol=1e-12)

    status, content_type, body = server.invoke(csv_rows(features[:1]), "text/csv; charset=utf-8",
                                               "application/xml, text/csv;q=0.9")
    assert (status, content_type) == (200, "text/csv")

    status, _, body = server.request("GET", "/execution-parameters")
    parameters = json.loads(body)
    assert status == 200 and parameters["BatchStrategy"] == "MULTI_RECORD" and parameters["MaxPayloadInMB"] == 6
    assert parameters["MaxConcurrentTransforms"] >= 1


def test_unsupported_types_and_errors(start, sklearn_tree: Path) -> None:
    server = start(sklearn_tree, OPENMAKER_FRAMEWORK="sklearn")
    status, _, body = server.invoke(b"\x89PNG", "image/png")
    assert status == 415 and b"Content type image/png is not supported" in body
    status, _, body = server.invoke("1,2,3,4,5,6,7,8,9,10,11", "text/csv", "application/xml")
    assert status == 406 and b"application/xml" in body
    status, _, body = server.invoke("1,2", "text/csv")  # the model wants 11 features
    assert status == 500 and b"ValueError" in body and b"features" in body
    status, _, body = server.invoke("{not json", "application/json")
    assert status == 400 and b"not valid JSON" in body
    assert server.request("GET", "/nothing-here")[0] == 404
    assert server.request("GET", "/ping")[0] == 200  # still healthy after errors


def test_latency_versus_direct_predict(start, sklearn_tree: Path, regression, housing) -> None:
    """Median of 1,000 keep-alive requests from one client vs a direct ``model.predict`` (reported, not gated)."""
    row = housing[0][:1]
    body = csv_rows(row)
    server = start(sklearn_tree, OPENMAKER_FRAMEWORK="sklearn")
    for _ in range(100):
        server.invoke(body, "text/csv", "application/json")
    served = []
    for _ in range(1000):
        started = time.perf_counter()
        status, _, _ = server.invoke(body, "text/csv", "application/json")
        served.append(time.perf_counter() - started)
        assert status == 200
    direct = []
    for _ in range(1000):
        started = time.perf_counter()
        regression.predict(row)
        direct.append(time.perf_counter() - started)
    served_ms, direct_ms = statistics.median(served) * 1e3, statistics.median(direct) * 1e3
    report = (f"model server p50 {served_ms:.3f} ms, p99 {sorted(served)[989] * 1e3:.3f} ms; "
              f"direct model.predict p50 {direct_ms:.3f} ms; overhead p50 {served_ms - direct_ms:.3f} ms")
    print(report)
    (Path(os.environ.get("OPENMAKER_BENCH_OUT", sklearn_tree)) / "serving-latency.txt").write_text(report + "\n")


# --- user scripts ---------------------------------------------------------------------------------------


def test_newsgroups_script_with_hard_coded_paths(start, tmp_path: Path) -> None:
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    documents = [
        "my mac clock oscillator upgrade powerbook motherboard apple quadra hardware",
        "apple macintosh quadra upgrade ram simm hardware clock speed",
        "the hockey game last night goalie scored playoffs team",
        "nhl playoffs hockey team goalie penalty season",
    ]
    labels = [0, 0, 1, 1]
    vectorizer = TfidfVectorizer()
    model = MultinomialNB(alpha=0.01).fit(vectorizer.fit_transform(documents), labels)
    joblib.dump(model, opt_ml / "model" / "model.joblib")
    (opt_ml / "model" / "tf_idf_vocab.pkl").write_bytes(__import__("pickle").dumps(vectorizer.vocabulary_))
    (opt_ml / "model" / "label_json.json").write_text(json.dumps({"0": "comp.sys.mac.hardware", "1": "rec.sport.hockey"}))

    server = start(opt_ml, OPENMAKER_FRAMEWORK="sklearn", SAGEMAKER_PROGRAM="train.py",
                   SAGEMAKER_SUBMIT_DIRECTORY=str(FIXTURES / "newsgroups"), SAGEMAKER_CONTAINER_LOG_LEVEL="20",
                   SAGEMAKER_REGION="us-east-1")
    post = "i want to upgrade the clock oscillator of my mac quadra will the apple hardware survive"
    status, _, body = server.invoke(post, "text/csv")
    assert (status, body) == (200, b"comp.sys.mac.hardware")
    status, _, body = server.invoke(json.dumps([post]), "application/json")
    assert status == 500 and b"This model only accepts text/csv, not application/json" in body
    assert "Importing user module train" in server.log()


def test_transform_fn_legacy_tuple_form(start, tmp_path: Path, housing) -> None:
    features, prices = housing
    classifier = LogisticRegression(max_iter=2000).fit(features, prices > np.median(prices))
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    joblib.dump(classifier, opt_ml / "model" / "model.joblib")
    shutil.copytree(FIXTURES / "legacy_transform", opt_ml / "model" / "code")  # /opt/ml/model/code/inference.py

    server = start(opt_ml, OPENMAKER_FRAMEWORK="mxnet")
    status, content_type, body = server.invoke(json.dumps(features[:3].tolist()), "application/json",
                                               "application/json")
    assert (status, content_type) == (200, "application/json")
    answer = json.loads(body)
    np.testing.assert_allclose(answer["predicted_probability"], classifier.predict_proba(features[:3])[:, 1])
    assert answer["predicted_label"] == [int(p > 0.5) for p in answer["predicted_probability"]]


def test_transform_fn_bytes_with_context_and_user_exception(start, sklearn_tree: Path, regression, housing) -> None:
    server = start(sklearn_tree, OPENMAKER_FRAMEWORK="sklearn", SAGEMAKER_PROGRAM="inference.py",
                   SAGEMAKER_SUBMIT_DIRECTORY=str(FIXTURES / "transform_context"))
    rows = housing[0][:2]
    status, content_type, body = server.invoke(
        csv_rows(rows), "text/csv", "text/plain", **{"X-Amzn-SageMaker-Custom-Attributes": "trace=42"}
    )
    assert (status, content_type) == (200, "text/plain")
    values, attributes = body.decode().split("|")
    np.testing.assert_allclose([float(v) for v in values.split(";")], regression.predict(rows), rtol=1e-5)
    assert attributes == "trace=42"

    status, _, body = server.invoke("boom", "text/csv")
    assert status == 500 and b"RuntimeError: boom: the model refuses this input" in body
    assert "Invocation failed (500): RuntimeError: boom" in server.log()


def test_transform_fn_with_input_fn_is_refused(start, tmp_path: Path, sklearn_tree: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def input_fn(b, c):\n    return b\n\ndef transform_fn(m, b, c, a):\n    return b\n")
    server = ModelServer(sklearn_tree, {"OPENMAKER_FRAMEWORK": "sklearn", "SAGEMAKER_PROGRAM": "inference.py",
                                        "SAGEMAKER_SUBMIT_DIRECTORY": str(code)})
    try:
        assert server.process.wait(STARTUP_SECONDS) == 1
    finally:
        server.stop()
    assert "Cannot use transform_fn implementation in conjunction with input_fn" in (
        sklearn_tree / "output" / "failure").read_text()


def test_model_fn_failure_exits_with_failure_reason(tmp_path: Path) -> None:
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    server = ModelServer(opt_ml, {"OPENMAKER_FRAMEWORK": "pytorch", "SAGEMAKER_PROGRAM": "inference.py",
                                  "SAGEMAKER_SUBMIT_DIRECTORY": str(FIXTURES / "broken")})
    try:
        assert server.process.wait(STARTUP_SECONDS) == 1
    finally:
        server.stop()
    failure = (opt_ml / "output" / "failure").read_text()
    assert "FileNotFoundError: no weights.bin in" in failure
    assert "no weights.bin" in server.log()  # and on stderr, for the endpoint's log stream


def test_submit_directory_as_local_sourcedir_tar_gz(start, tmp_path: Path, sklearn_tree: Path, regression, housing) -> None:
    archive = tmp_path / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(FIXTURES / "transform_context" / "inference.py", arcname="serve.py")
    server = start(sklearn_tree, OPENMAKER_FRAMEWORK="sklearn", SAGEMAKER_PROGRAM="serve.py",
                   SAGEMAKER_SUBMIT_DIRECTORY=str(archive))
    status, _, body = server.invoke(csv_rows(housing[0][:1]), "text/csv")
    assert status == 200 and float(body.decode().split("|")[0]) == pytest.approx(regression.predict(housing[0][:1])[0])
    assert (sklearn_tree / "code" / "serve.py").is_file()


def test_submit_directory_as_s3_sourcedir_tar_gz(start, server, s3, bucket: str, tmp_path: Path,
                                                 sklearn_tree: Path, regression, housing) -> None:
    archive = tmp_path / "sourcedir.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(FIXTURES / "transform_context" / "inference.py", arcname="inference.py")
    s3.upload_file(str(archive), bucket, "job/source/sourcedir.tar.gz")
    env = {k: v for k, v in server.env().items() if k.startswith("AWS_")}
    model_server = start(sklearn_tree, OPENMAKER_FRAMEWORK="sklearn", SAGEMAKER_PROGRAM="inference.py",
                         SAGEMAKER_SUBMIT_DIRECTORY=f"s3://{bucket}/job/source/sourcedir.tar.gz", **env)
    status, _, body = model_server.invoke(csv_rows(housing[0][:1]), "text/csv")
    assert status == 200 and float(body.decode().split("|")[0]) == pytest.approx(regression.predict(housing[0][:1])[0])


# --- XGBoost --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def booster(housing):
    import xgboost as xgb

    features, labels = housing
    return xgb.train({"max_depth": 3, "eta": 0.3, "objective": "reg:squarederror"},
                     xgb.DMatrix(features, label=labels), num_boost_round=10)


@pytest.fixture
def xgboost_tree(tmp_path: Path, booster) -> Path:
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    booster.save_model(str(opt_ml / "model" / "xgboost-model.json"))
    (opt_ml / "model" / "xgboost-model.json").rename(opt_ml / "model" / "xgboost-model")
    return opt_ml


def libsvm_rows(rows: np.ndarray) -> str:
    return "\n".join("0 " + " ".join(f"{i + 1}:{value!r}" for i, value in enumerate(row.tolist())) for row in rows)


def test_xgboost_model_file_algorithm_mode(start, xgboost_tree: Path, booster, housing) -> None:
    import xgboost as xgb

    features = housing[0][:4]
    expected = booster.predict(xgb.DMatrix(features))
    server = start(xgboost_tree, OPENMAKER_FRAMEWORK="xgboost", OPENMAKER_ALGORITHM="xgboost",
                   OPENMAKER_FRAMEWORK_VERSION="1.7-1")
    status, content_type, body = server.invoke(csv_rows(features), "text/csv")
    assert (status, content_type) == (200, "text/csv")  # the algorithm's default Accept
    assert body.endswith(b"\n") and body.count(b"\n") == 4  # one prediction per line from 1.5-1 on
    np.testing.assert_allclose([float(v) for v in body.split()], expected, rtol=1e-6)

    status, _, body = server.invoke(libsvm_rows(features), "text/libsvm")
    assert status == 200
    np.testing.assert_allclose([float(v) for v in body.split()], expected, rtol=1e-6)
    status, _, body = server.invoke(libsvm_rows(features), "text/x-libsvm", "application/json")
    assert [set(p) for p in json.loads(body)["predictions"]] == [{"score"}] * 4
    np.testing.assert_allclose([p["score"] for p in json.loads(body)["predictions"]], expected, rtol=1e-6)

    status, _, body = server.invoke(b"", "text/csv")
    assert status == 204
    status, _, body = server.invoke(b"\x00\x01", "application/x-recordio")
    assert status == 415
    status, _, body = server.invoke(csv_rows(features), "text/csv", "application/xml")
    assert status == 406


def test_xgboost_legacy_image_answers_comma_separated(start, xgboost_tree: Path, booster, housing) -> None:
    import xgboost as xgb

    features = housing[0][:3]
    server = start(xgboost_tree, OPENMAKER_FRAMEWORK="xgboost", OPENMAKER_ALGORITHM="xgboost")  # xgboost:latest
    status, _, body = server.invoke(csv_rows(features), "text/csv")
    assert status == 200 and b"\n" not in body and body.count(b",") == 2
    np.testing.assert_allclose(np.fromstring(body.decode(), sep=","), booster.predict(xgb.DMatrix(features)), rtol=1e-6)


def test_xgboost_framework_mode_script(start, xgboost_tree: Path, booster, housing) -> None:
    import xgboost as xgb

    features = housing[0][:3]
    expected = booster.predict(xgb.DMatrix(features))
    server = start(xgboost_tree, OPENMAKER_FRAMEWORK="xgboost", OPENMAKER_ALGORITHM="xgboost",
                   SAGEMAKER_PROGRAM="script.py", SAGEMAKER_SUBMIT_DIRECTORY=str(FIXTURES / "xgboost_script"))
    status, content_type, body = server.invoke(csv_rows(features), "text/csv")
    assert (status, content_type) == (200, "application/json")
    np.testing.assert_allclose(json.loads(body), expected, rtol=1e-6)
    status, _, body = server.invoke(libsvm_rows(features), "text/libsvm", "text/csv")
    np.testing.assert_allclose([float(v) for v in body.decode().splitlines()], expected, rtol=1e-6)
    status, _, body = server.invoke(npy(features), "application/x-npy", "application/x-npy")
    np.testing.assert_allclose(np.load(io.BytesIO(body)), expected, rtol=1e-6)


# --- TensorFlow Serving format -------------------------------------------------------------------------


def test_tensorflow_serving_rest_and_handlers(start, tmp_path: Path) -> None:
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    shutil.copytree(FIXTURES / "tfs", opt_ml / "model" / "code")
    server = start(opt_ml, OPENMAKER_FRAMEWORK="tensorflow", OPENMAKER_FRAMEWORK_VERSION="1.12")
    status, _, body = server.invoke("1,2\n3,4", "text/csv", **{"X-Amzn-SageMaker-Custom-Attributes": "a=1"})
    assert status == 200 and json.loads(body) == {"predictions": [[2.0, 4.0], [6.0, 8.0]], "attributes": "a=1"}
    status, _, body = server.invoke(json.dumps({"instances": [[1, 2]]}), "application/json")
    assert json.loads(body)["predictions"] == [[2, 4]]
    status, _, body = server.invoke(json.dumps({"inputs": [[1]]}), "application/json")
    assert status == 500 and "KeyError" in json.loads(body)["error"]  # output_handler wants predictions
    status, _, body = server.invoke("x", "image/png")
    assert status == 500 and "unsupported content type image/png" in json.loads(body)["error"]
    # TF Serving's own REST API, which full ``handler(data, context)`` scripts POST to.
    status, _, body = server.request("POST", "/v1/models/model:predict", json.dumps({"inputs": [[5]]}))
    assert (status, json.loads(body)) == (200, {"outputs": [[10]]})
    status, _, body = server.request("POST", "/v1/models/model:predict", json.dumps({"x": 1}))
    assert status == 400 and "instances" in json.loads(body)["error"]


def test_tensorflow_savedmodel_without_tensorflow_fails_clearly(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    try:
        import tensorflow  # noqa: F401
        pytest.skip("TensorFlow is installed: the SavedModel would load")
    except ImportError:
        pass
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    (opt_ml / "model" / "export" / "Servo" / "1").mkdir(parents=True)
    (opt_ml / "model" / "export" / "Servo" / "1" / "saved_model.pb").write_bytes(b"")
    server = ModelServer(opt_ml, {"OPENMAKER_FRAMEWORK": "tensorflow"})
    try:
        assert server.process.wait(STARTUP_SECONDS) == 1
    finally:
        server.stop()
    assert "TensorFlow is not installed" in (opt_ml / "output" / "failure").read_text()


# --- PyTorch --------------------------------------------------------------------------------------------

TORCHSCRIPT = textwrap.dedent("""
    import sys, torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()
    torch.jit.script(model).save(sys.argv[1])
    x = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    print(model(x).tolist())
""")


def test_pytorch_torchscript_model(start, tmp_path: Path) -> None:
    from openmaker.engine.environments import EnvironmentSetupError, ensure_environment
    from openmaker.engine.images import resolve_image

    home = tmp_path / "home"
    image = resolve_image("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310", home)
    try:
        environment = ensure_environment(image, home)
    except EnvironmentSetupError as error:
        pytest.skip(f"torch is not available: {error}")
    opt_ml = opt_ml_tree(tmp_path / "opt_ml")
    script = tmp_path / "make_model.py"
    script.write_text(TORCHSCRIPT)
    made = subprocess.run([environment.python, str(script), str(opt_ml / "model" / "model.pt")],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **environment.env})
    assert made.returncode == 0, made.stderr
    expected = np.array(json.loads(made.stdout.strip().splitlines()[-1]))

    server = start(opt_ml, python=environment.python, OPENMAKER_FRAMEWORK="pytorch", **environment.env)
    inputs = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=np.float32)
    status, content_type, body = server.invoke(npy(inputs), "application/x-npy", "application/x-npy")
    assert (status, content_type) == (200, "application/x-npy")
    np.testing.assert_allclose(np.load(io.BytesIO(body)), expected, rtol=1e-5)
    status, _, body = server.invoke(json.dumps(inputs.tolist()), "application/json", "application/json")
    np.testing.assert_allclose(json.loads(body), expected, rtol=1e-5)
    status, _, body = server.invoke(csv_rows(inputs), "text/csv", "text/csv")
    np.testing.assert_allclose([[float(v) for v in line.split(",")] for line in body.decode().splitlines()],
                               expected, rtol=1e-5)
