"""Linear Learner's models against scikit-learn's on the same real splits (in process, through the runtime).

The training loop is the algorithm's own (:func:`openmaker.runtimes.algorithms.linear_learner.train.train`
with validated hyperparameters, as a job calls it); the references are the best of a few regularisation
strengths of Ridge and LogisticRegression, scored on the held-out rows. Linear Learner must come within
0.02 of them, train deterministically, and print the container's metric lines.
"""

from __future__ import annotations

import numpy as np
import pytest
from algodata import spam_matrix
from lldata import housing_split, r2

from openmaker.runtimes.algorithms import linear_learner
from openmaker.runtimes.algorithms.linear_learner.train import Data, train


@pytest.fixture(scope="module")
def housing(datasets) -> tuple[np.ndarray, np.ndarray]:
    return housing_split(datasets)


@pytest.fixture(scope="module")
def spam(datasets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = spam_matrix(datasets)
    cut, valid = int(len(rows) * 0.8), int(len(rows) * 0.64)
    return rows[:valid], rows[valid:cut], rows[cut:]


def _data(name: str, rows: np.ndarray) -> Data:
    return Data(name, rows[:, 1:], rows[:, 0])


def test_regressor_matches_ridge(housing, capsys):
    from sklearn.linear_model import Ridge

    train_rows, held_out = housing
    reference = max(r2(held_out[:, 0], Ridge(alpha=alpha).fit(train_rows[:, 1:], train_rows[:, 0])
                       .predict(held_out[:, 1:])) for alpha in (0.1, 1.0, 10.0))
    hps = linear_learner.validate({"feature_dim": "11", "predictor_type": "regressor", "mini_batch_size": "1"})
    result = train(hps, _data("train", train_rows), test=_data("test", held_out))
    score = r2(held_out[:, 0], result.model.scores(held_out[:, 1:]))
    assert score >= reference - 0.02, (score, reference)
    final = dict((name, value) for name, value, _ in result.final["test"])
    assert final["r2"] == pytest.approx(score)
    assert final["rmse"] == pytest.approx(np.sqrt(final["mse"]))
    out = capsys.readouterr().out
    assert "#quality_metric: host=algo-1, epoch=0, train mse_objective <loss>=" in out
    assert f"#quality_metric: host=algo-1, test rmse <loss>={final['rmse']!r}" in out

    again = train(hps, _data("train", train_rows), test=_data("test", held_out))
    np.testing.assert_array_equal(again.model.weight, result.model.weight)  # seeded: the same model


def test_binary_classifier_matches_logistic_regression(spam, capsys):
    from sklearn.linear_model import LogisticRegression

    train_rows, validation_rows, test_rows = spam
    fit_rows = np.vstack([train_rows, validation_rows])
    reference = max(np.mean(LogisticRegression(C=c, max_iter=3000).fit(fit_rows[:, 1:], fit_rows[:, 0])
                            .predict(test_rows[:, 1:]) == test_rows[:, 0]) for c in (0.1, 1.0, 10.0))
    hps = linear_learner.validate({"predictor_type": "binary_classifier", "mini_batch_size": "100"})
    result = train(hps, _data("train", train_rows), _data("validation", validation_rows), _data("test", test_rows))
    predictions = result.model.predict(test_rows[:, 1:])
    accuracy = np.mean([p["predicted_label"] for p in predictions] == test_rows[:, 0])
    assert accuracy >= reference - 0.02, (accuracy, reference)
    assert all(0.0 <= p["score"] <= 1.0 for p in predictions)
    final = dict((name, value) for name, value, _ in result.final["test"])
    assert final["binary_classification_accuracy"] == pytest.approx(accuracy)
    assert set(final) == {"binary_classification_cross_entropy_objective", "binary_classification_accuracy",
                          "binary_f_1.000", "precision", "recall", "roc_auc_score"}
    assert final["roc_auc_score"] > 0.9
    out = capsys.readouterr().out
    assert "#quality_metric: host=algo-1, epoch=0, validation binary_classification_cross_entropy_objective" in out
    assert "#quality_metric: host=algo-1, test binary_f_1.000 <score>=" in out


def test_precision_at_target_recall_holds_the_recall(spam):
    train_rows, validation_rows, _ = spam
    hps = linear_learner.validate({"predictor_type": "binary_classifier", "mini_batch_size": "200",
                                   "binary_classifier_model_selection_criteria": "precision_at_target_recall",
                                   "target_recall": "0.9", "num_models": "6", "epochs": "5",
                                   "positive_example_weight_mult": "auto"})
    result = train(hps, _data("train", train_rows), _data("validation", validation_rows))
    final = dict((name, value) for name, value, _ in result.final["validation"])
    assert final["recall"] >= 0.9  # the threshold was calibrated on these rows for this recall
    assert result.model.hyperparameters["positive_example_weight_mult"] in (1.0, "balanced")


def test_multiclass_classifier_learns_digits(datasets):
    """Softmax regression on 3 MNIST digits (0, 1, 7): well above chance, with the multiclass metrics."""
    import gzip

    path = next((datasets / "mnist").glob("t10k-images*"))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        images = np.frombuffer(handle.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float64)
    labels_path = next((datasets / "mnist").glob("t10k-labels*"))
    with (gzip.open if labels_path.suffix == ".gz" else open)(labels_path, "rb") as handle:
        labels = np.frombuffer(handle.read(), dtype=np.uint8, offset=8)
    keep = np.isin(labels, (0, 1, 7))
    X, y = images[keep][:1500], np.searchsorted([0, 1, 7], labels[keep][:1500]).astype(np.float64)
    hps = linear_learner.validate({"predictor_type": "multiclass_classifier", "num_classes": "3",
                                   "mini_batch_size": "100", "epochs": "5", "num_models": "4",
                                   "balance_multiclass_weights": "true"})
    result = train(hps, Data("train", X[:1000], y[:1000]), test=Data("test", X[1000:], y[1000:]))
    final = dict((name, value) for name, value, _ in result.final["test"])
    assert final["multiclass_accuracy"] > 0.9
    assert final["multiclass_top_k_accuracy_3"] == 1.0  # 3 classes: the truth is always in the top 3
    answer = result.model.predict(X[1000:1002])
    assert len(answer[0]["score"]) == 3 and answer[0]["predicted_label"] == int(np.argmax(answer[0]["score"]))


@pytest.mark.parametrize(("predictor", "loss"), [
    ("regressor", "absolute_loss"), ("regressor", "eps_insensitive_squared_loss"),
    ("regressor", "eps_insensitive_absolute_loss"), ("regressor", "quantile_loss"), ("regressor", "huber_loss"),
    ("binary_classifier", "hinge_loss"), ("multiclass_classifier", "logistic"),
    ("multiclass_classifier", "hinge_loss"),
])
def test_every_loss_trains(housing, predictor, loss):
    """Each loss learns something real on the housing rows (classes: price above the median, or terciles)."""
    train_rows, held_out = housing
    hps = {"predictor_type": predictor, "loss": loss, "mini_batch_size": "16", "epochs": "8", "num_models": "4"}
    rows = {"train": train_rows.copy(), "test": held_out.copy()}
    if predictor == "binary_classifier":
        for part in rows.values():
            part[:, 0] = part[:, 0] > np.median(train_rows[:, 0])
    elif predictor == "multiclass_classifier":
        hps["num_classes"] = "3"
        cuts = np.quantile(train_rows[:, 0], [1 / 3, 2 / 3])
        for part in rows.values():
            part[:, 0] = np.searchsorted(cuts, part[:, 0])
    result = train(linear_learner.validate(hps), _data("train", rows["train"]), test=_data("test", rows["test"]))
    final = dict((name, value) for name, value, _ in result.final["test"])
    assert f"{loss}_objective" in final or "multiclass_" + loss + "_objective" in final
    if predictor == "regressor":
        assert final["r2"] > 0.6
    elif predictor == "binary_classifier":
        assert final["binary_classification_accuracy"] > 0.8
    else:
        assert final["multiclass_accuracy"] > 0.6


def test_sparse_rows_train_like_dense_ones(spam):
    """CSR features (RecordIO-protobuf's sparse records) are scaled but not centred, and learn as well."""
    import scipy.sparse as sp

    train_rows, validation_rows, test_rows = spam
    hps = linear_learner.validate({"predictor_type": "binary_classifier", "mini_batch_size": "100",
                                   "num_models": "4", "epochs": "5"})
    accuracies = []
    for convert in (np.asarray, sp.csr_matrix):
        result = train(hps, Data("train", convert(train_rows[:, 1:]), train_rows[:, 0]),
                       Data("validation", convert(validation_rows[:, 1:]), validation_rows[:, 0]))
        labels = [p["predicted_label"] for p in result.model.predict(sp.csr_matrix(test_rows[:, 1:]))]
        accuracies.append(np.mean(labels == test_rows[:, 0]))
    assert accuracies[1] > 0.9 and abs(accuracies[0] - accuracies[1]) < 0.02, accuracies


def test_models_that_overflow_are_dropped(housing):
    """A step size that overflows every model fails the job with a message that says what to change."""
    from openmaker.runtimes.algorithms.errors import UserError

    train_rows, _ = housing
    hps = linear_learner.validate({"predictor_type": "regressor", "optimizer": "sgd", "learning_rate": "1e30",
                                   "normalize_data": "false", "normalize_label": "false", "num_models": "2",
                                   "mini_batch_size": "1"})
    with pytest.raises(UserError, match="Every model diverged"):
        train(hps, _data("train", train_rows))
