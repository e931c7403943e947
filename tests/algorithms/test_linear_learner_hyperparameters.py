"""Linear Learner's parts on their own: hyperparameter checks, the parallel models, calibration, the artifact."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.linear_learner import grid, validate
from openmaker.runtimes.algorithms.linear_learner.evaluation import Criterion, calibrate
from openmaker.runtimes.algorithms.linear_learner.model import MODEL_FILE, LinearLearnerModel
from openmaker.runtimes.formats.inference import encode_predictions


def test_defaults_are_the_containers():
    hps = validate({"predictor_type": "regressor"})
    assert (hps["mini_batch_size"], hps["epochs"], hps["feature_dim"], hps["loss"]) == (1000, 15, "auto",
                                                                                       "squared_loss")
    assert (hps["early_stopping_patience"], hps["early_stopping_tolerance"]) == (3, 0.001)
    assert hps["normalize_data"] is True and hps["normalize_label"] == "auto" and hps["use_bias"] is True
    assert validate({"predictor_type": "binary_classifier"})["loss"] == "logistic"
    assert validate({"predictor_type": "multiclass_classifier", "num_classes": "4"})["loss"] == "softmax_loss"


def test_values_as_the_sdk_and_the_container_send_them():
    hps = validate({"predictor_type": "binary_classifier", "use_bias": "False", "normalize_label": "auto",
                    "positive_example_weight_mult": "balanced", "feature_dim": "20", "_kvstore": "auto",
                    "_tuning_objective_metric": "validation:binary_f_beta", "learning_rate": "0.05"})
    assert hps["use_bias"] is False and hps["positive_example_weight_mult"] == "balanced"
    assert hps["feature_dim"] == 20 and hps["learning_rate"] == 0.05


@pytest.mark.parametrize(("raw", "message"), [
    ({"predictor_type": "regressor", "mini_batch": "10"},
     "Additional properties are not allowed ('mini_batch' was unexpected)"),
    ({"feature_dim": "3"}, "'predictor_type' is a required property"),
    ({"predictor_type": "classifier"}, "'classifier' is not valid for 'predictor_type'"),
    ({"predictor_type": "regressor", "learning_rate": "0"}, "0.0 is not valid for 'learning_rate'"),
    ({"predictor_type": "regressor", "wd": "-1"}, "-1.0 is not valid for 'wd'"),
    ({"predictor_type": "regressor", "epochs": "ten"}, "The value of 'epochs' is not valid"),
    ({"predictor_type": "regressor", "quantile": "1"}, "1.0 is not valid for 'quantile'"),
    ({"predictor_type": "binary_classifier", "positive_example_weight_mult": "-2"},
     "-2.0 is not valid for 'positive_example_weight_mult'"),
    ({"predictor_type": "multiclass_classifier"}, "'num_classes' is a required property"),
    ({"predictor_type": "multiclass_classifier", "num_classes": "2"}, "2 is not valid for 'num_classes'"),
    ({"predictor_type": "binary_classifier", "loss": "squared_loss"}, "'squared_loss' is not valid for 'loss'"),
])
def test_mistakes_name_the_hyperparameter(raw, message):
    with pytest.raises(UserError) as failed:
        validate(raw)
    assert failed.value.message.startswith("Unable to initialize the algorithm. Failed to validate input "
                                           "hyperparameters.")
    assert message in failed.value.message


def test_parallel_models():
    hps = validate({"predictor_type": "regressor"})
    models = grid.models(hps, "adam")
    assert models.count == 32
    assert (models.learning_rate[0], models.wd[0], models.l1[0]) == (0.1, 1e-4, 0.0)  # model 0: the defaults
    combos = set(zip(models.learning_rate, models.wd, models.l1, strict=True))
    assert len(combos) == 32  # all different
    again = grid.models(hps, "adam")
    np.testing.assert_array_equal(again.learning_rate, models.learning_rate)

    fixed = grid.models(validate({"predictor_type": "regressor", "learning_rate": "0.02", "wd": "0"}), "adam")
    assert fixed.count == 2 and set(fixed.learning_rate) == {0.02} and set(fixed.wd) == {0.0}
    more = grid.models(validate({"predictor_type": "regressor", "learning_rate": "0.02", "wd": "0", "l1": "0",
                                 "num_models": "5"}), "adam")
    assert more.count == 5 and more.learning_rate[0] == 0.02 and len(set(more.learning_rate)) == 5
    tuned = grid.models(validate({"predictor_type": "regressor", "num_models": "8",
                                  "_tuning_objective_metric": "validation:mse"}), "adam")
    assert tuned.count == 1


@pytest.mark.parametrize("criterion", [
    Criterion("accuracy"), Criterion("f_beta", beta=2.0), Criterion("precision_at_target_recall", target_recall=0.7),
    Criterion("recall_at_target_precision", target_precision=0.6),
])
def test_calibration_finds_the_best_threshold(criterion):
    rng = np.random.default_rng(3)
    labels = (rng.random(300) < 0.3).astype(float)
    scores = np.round(labels * 0.4 + rng.random((300, 3)).T * 0.8, 2).T  # ties included
    achieved, thresholds = calibrate(scores, labels, criterion)
    for model in range(3):
        best = -np.inf
        for threshold in np.concatenate([np.unique(scores[:, model]), [np.inf]]):
            best = max(best, _brute(scores[:, model] >= threshold, labels, criterion))
        assert _brute(scores[:, model] >= thresholds[model], labels, criterion) == pytest.approx(best)
        if criterion.name.endswith(("_recall", "_precision")):  # the encoding: feasible cuts rank above
            best = best - 1.0 if best >= 1.0 else 0.0
        assert achieved[model] == pytest.approx(best)


def _brute(predicted: np.ndarray, labels: np.ndarray, criterion: Criterion) -> float:
    actual = labels > 0.5
    tp, fp, fn = (np.sum(predicted & actual), np.sum(predicted & ~actual), np.sum(~predicted & actual))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    if criterion.name == "accuracy":
        return float(np.mean(predicted == actual))
    if criterion.name == "f_beta":
        b2 = criterion.beta ** 2
        return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0
    if criterion.name == "precision_at_target_recall":
        return 1 + precision if recall >= criterion.target_recall else recall
    return 1 + recall if precision >= criterion.target_precision else precision


def test_model_round_trip_and_answers(tmp_path):
    weight = np.array([[1.0], [-2.0], [0.5]])
    model = LinearLearnerModel(weight, np.array([0.25]), "binary_classifier", "logistic", threshold=0.4,
                               hyperparameters={"learning_rate": 0.1})
    model.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [MODEL_FILE]
    loaded = LinearLearnerModel.load(tmp_path)
    assert loaded.feature_dim == 3 and loaded.threshold == 0.4 and loaded.hyperparameters == {"learning_rate": 0.1}
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    answers = loaded.predict(X)
    assert answers == loaded.predict(sp.csr_matrix(X))
    assert [a["predicted_label"] for a in answers] == [1, 0]
    assert answers[0]["score"] == pytest.approx(1 / (1 + np.exp(-1.25)))
    body, content_type = encode_predictions(answers, "application/jsonlines")
    assert content_type == "application/jsonlines"
    assert [set(json.loads(line)) for line in body.decode().splitlines()] == [{"score", "predicted_label"}] * 2

    regressor = LinearLearnerModel(weight, np.array([1.0]), "regressor", "squared_loss")
    assert regressor.predict(X) == [{"score": 2.0}, {"score": -1.0}]
    multiclass = LinearLearnerModel(np.eye(3), np.zeros(3), "multiclass_classifier", "softmax_loss")
    answer = multiclass.predict(np.array([[0.0, 3.0, 1.0]]))[0]
    assert answer["predicted_label"] == 1 and sum(answer["score"]) == pytest.approx(1.0)
