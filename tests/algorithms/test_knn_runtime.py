"""The k-NN algorithm's runtime in this process (the training entry's own ``train``, no server).

- trained on MNIST digits with a ``sample_size`` above the row count (no sampling) and the L2 metric,
  it scores the test channel exactly as scikit-learn's ``KNeighborsClassifier`` with the same ``k`` does,
  and predicts the same label for every digit; the score line is the one the service's regex reads;
- sampling keeps ``sample_size`` rows, the same ones every time; dimension reduction is the documented
  linear map (the fjlt matrix is the subsampled randomized Hadamard transform);
- the three artifact files round-trip; a tie in the vote goes to the smallest label; verbose answers
  list distances nearest first;
- hyperparameter mistakes are named.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from knndata import labelled_csv, mnist

from openmaker.engine.builtin_metrics import DEFINITIONS
from openmaker.engine.output import MetricMatcher
from openmaker.runtimes.algorithms.base import module_for, train
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.knn import HYPERPARAMETERS
from openmaker.runtimes.algorithms.knn.model import KNNModel, vote
from openmaker.runtimes.algorithms.knn.projection import fjlt_matrix, sign_matrix
from openmaker.runtimes.algorithms.knn.serve import verbose
from openmaker.runtimes.algorithms.knn.train import build
from openmaker.runtimes.training.environment import TrainingEnv

SM_VARIABLES = ("SM_INPUT_DIR", "SM_INPUT_CONFIG_DIR", "SM_OUTPUT_DIR", "SM_MODEL_DIR", "SM_HOSTS",
                "SM_CURRENT_HOST", "SM_CHANNEL_TRAIN", "SM_CHANNEL_TEST")


@pytest.fixture(scope="module")
def digits(datasets) -> tuple[np.ndarray, np.ndarray]:
    return mnist(datasets, rows=3000)


def _job_tree(root: Path, hyperparameters: dict[str, str], channels: dict[str, bytes]) -> None:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps(
        {name: {"ContentType": "text/csv", "TrainingInputMode": "File"} for name in channels}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    for name, body in channels.items():
        (root / "input" / "data" / name).mkdir(parents=True)
        (root / "input" / "data" / name / f"{name}.csv").write_bytes(body)


def _train_in_process(root: Path, monkeypatch, hyperparameters: dict[str, str],
                      channels: dict[str, bytes]) -> TrainingEnv:
    _job_tree(root, hyperparameters, channels)
    for name in SM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENMAKER_OPT_ML", str(root))
    env = TrainingEnv.load()
    env.make_dirs()
    train(module_for("knn"), env)
    return env


def test_accuracy_equals_scikit_learn_on_mnist(digits, tmp_path, monkeypatch, capsys):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = digits
    cut = 2400
    k = 4  # even: the vote ties, and both break them the same way
    env = _train_in_process(tmp_path, monkeypatch,
                            {"feature_dim": "784", "k": str(k), "predictor_type": "classifier",
                             "sample_size": "100000", "mini_batch_size": "250"},
                            {"train": labelled_csv(X[:cut], y[:cut]), "test": labelled_csv(X[cut:], y[cut:])})
    printed = capsys.readouterr().out
    found = [value for line in printed.splitlines()
             for name, value in MetricMatcher(DEFINITIONS["knn"]).match(line)]
    assert len(found) == 1, printed
    assert re.search(r"^#quality_metric: host=algo-1, test accuracy <score>=", printed, re.M)

    reference = KNeighborsClassifier(n_neighbors=k).fit(X[:cut], y[:cut])
    assert found[0] == reference.score(X[cut:], y[cut:])
    model = KNNModel.load(env.model_dir)
    np.testing.assert_array_equal(model.predict_values(X[cut:]), reference.predict(X[cut:]))
    assert sorted(p.name for p in env.model_dir.iterdir()) == ["model_algo-1", "model_algo-1.json",
                                                               "model_algo-1.labels"]
    np.testing.assert_array_equal(np.fromfile(env.model_dir / "model_algo-1.labels", "<f4"), y[:cut])


def test_sampling_is_bounded_and_seeded(digits):
    X, y = digits
    hps = HYPERPARAMETERS.validate({"feature_dim": "784", "k": "3", "predictor_type": "classifier",
                                    "sample_size": "500"})
    first, second = build(hps, X, y), build(hps, X, y)
    assert first.points.shape == (500, 784)
    np.testing.assert_array_equal(first.points, second.points)
    rows = {tuple(row) for row in X.astype(np.float32)}
    assert all(tuple(point) in rows for point in first.points[:50])


def test_dimension_reduction_is_the_documented_map(digits):
    from scipy.linalg import hadamard

    matrix = sign_matrix(20, 5)
    assert set(np.abs(matrix * np.sqrt(5)).round(6).ravel()) == {1.0}
    # fjlt: random row signs times 5 distinct Walsh-Hadamard columns (20 rows padded to 32), / sqrt(5).
    # Two columns multiplied cancel the signs and leave a Hadamard column (H[:, a] * H[:, b] = H[:, a^b]).
    fjlt = np.rint(fjlt_matrix(20, 5) * np.sqrt(5)).astype(int)
    columns = {tuple(column) for column in hadamard(32)[:20].T}
    assert set(np.abs(fjlt).ravel()) == {1}
    assert all(tuple(fjlt[:, 0] * fjlt[:, j]) in columns for j in range(1, 5))
    assert len({tuple(column) for column in fjlt.T}) == 5
    X, y = digits
    for kind in ("sign", "fjlt"):
        hps = HYPERPARAMETERS.validate({"feature_dim": "784", "k": "5", "predictor_type": "classifier",
                                        "sample_size": "2000", "dimension_reduction_type": kind,
                                        "dimension_reduction_target": "48"})
        model = build(hps, X[:2000], y[:2000])
        assert model.points.shape == (2000, 48) and model.projection.shape == (784, 48)
        assert np.mean(model.predict_values(X[2000:2500]) == y[2000:2500]) > 0.8


def test_artifact_round_trip_vote_ties_and_verbose(tmp_path):
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    labels = np.array([3.0, 1.0, 2.0, 1.0])
    params = {"feature_dim": 2, "k": 2, "predictor_type": "classifier", "index_metric": "L2"}
    model = KNNModel(points, labels, params)
    model.save(tmp_path)
    loaded = KNNModel.load(tmp_path)
    answer = loaded.predict(np.array([[0.1, 0.0]]), verbose=True)[0]
    assert answer["predicted_label"] == 1.0  # labels 3 and 1 tie: the smallest wins
    assert answer["labels"] == [3.0, 1.0]
    assert answer["distances"] == pytest.approx([0.1, 0.9])
    assert loaded.predict(np.array([[4.0, 4.0]])) == [{"predicted_label": 1.0}]
    assert vote(np.array([[2.0, 7.0, 7.0, 2.0], [9.0, 9.0, 1.0, 4.0]])).tolist() == [2.0, 9.0]
    regressor = KNNModel(points, labels, {**params, "predictor_type": "regressor", "k": 3})
    assert regressor.predict(np.array([[0.0, 0.1]]))[0]["predicted_label"] == pytest.approx(2.0)


def test_verbose_accept_parameter():
    assert verbose("application/json; verbose=true")
    assert verbose("application/jsonlines;verbose=True")
    assert verbose("application/x-recordio-protobuf; verbose=true")
    assert not verbose("application/json")
    assert not verbose("text/csv; verbose=true")
    assert not verbose(None)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"k": "3", "predictor_type": "classifier", "sample_size": "10"}, "'feature_dim' is a required property"),
        ({"feature_dim": "4", "predictor_type": "classifier", "sample_size": "10"}, "'k' is a required property"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "classifier"}, "'sample_size' is a required property"),
        ({"feature_dim": "4", "k": "3", "sample_size": "10"}, "'predictor_type' is a required property"),
        ({"feature_dim": "4", "k": "0", "predictor_type": "classifier", "sample_size": "10"}, "'k'"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "ranker", "sample_size": "10"}, "'predictor_type'"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "classifier", "sample_size": "10", "foo": "1"},
         "('foo' was unexpected)"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "classifier", "sample_size": "10",
          "dimension_reduction_type": "sign"}, "'dimension_reduction_target' is a required property"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "classifier", "sample_size": "10",
          "dimension_reduction_type": "fjlt", "dimension_reduction_target": "4"}, "'dimension_reduction_target'"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "classifier", "sample_size": "10",
          "index_type": "faiss.IVFPQ", "index_metric": "COSINE"}, "'index_metric'"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "classifier", "sample_size": "10",
          "faiss_index_pq_m": "5"}, "'faiss_index_pq_m'"),
        ({"feature_dim": "4", "k": "3", "predictor_type": "regressor", "sample_size": "10",
          "_tuning_objective_metric": "test:accuracy"}, "'_tuning_objective_metric'"),
    ],
)
def test_hyperparameter_mistakes_are_named(given, named):
    with pytest.raises(UserError) as error:
        HYPERPARAMETERS.validate(given)
    assert error.value.message.startswith("Unable to initialize the algorithm. Failed to validate input")
    assert named in error.value.message


def test_defaults_and_k_above_the_sample():
    hps = HYPERPARAMETERS.validate({"feature_dim": "2", "k": "5", "predictor_type": "regressor",
                                    "sample_size": "3", "faiss_index_ivf_nlists": "auto",
                                    "_tuning_objective_metric": "test:mse"})
    assert hps["index_type"] == "faiss.Flat" and hps["index_metric"] == "L2" and hps["mini_batch_size"] == 5000
    with pytest.raises(UserError, match=r"k \(5\) is greater than the number of points"):
        build(hps, np.zeros((10, 2)), np.zeros(10))
