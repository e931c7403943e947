"""The XGBoost algorithm's boundary, without a server: hyperparameter validation with the container's
messages, and metric lines that the service's metric regexes read."""

from __future__ import annotations

import re

import pytest

from openmaker.engine.builtin_metrics import DEFINITIONS, metric_definitions
from openmaker.engine.output import MetricMatcher
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.metrics import round_line
from openmaker.runtimes.algorithms.xgboost import HYPERPARAMETERS
from openmaker.runtimes.algorithms.xgboost.data import content_type


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "Missing required hyperparameter: num_round"),
        ({"num_round": "10", "silent": "1"}, "Extraneous hyperparameter found: silent"),
        ({"num_round": "ten"}, "Hyperparameter num_round: could not parse value (caused by ValueError)"),
        ({"num_round": "0"}, "Hyperparameter num_round: 0 is not in [1, +inf)"),
        ({"num_round": "5", "subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"num_round": "5", "tree_method": "gpu"}, "Hyperparameter tree_method: gpu is not in ['auto', 'exact'"),
        ({"num_round": "5", "eval_metric": "auc,bogus"}, "Hyperparameter eval_metric: value ['auc', 'bogus'] not in range"),
        ({"num_round": "5", "objective": "reg:squarederror", "eval_metric": "auc"},
         "Metric 'auc' can only be applied for classification and ranking problems."),
        ({"num_round": "5", "objective": "multi:softmax"}, "Require input for parameter 'num_class' for multi-classification"),
    ],
)
def test_invalid_hyperparameters_are_named(given, message):
    with pytest.raises(UserError) as error:
        HYPERPARAMETERS.validate(given)
    assert error.value.message.startswith(message)


def test_values_are_typed_aliases_resolved_and_sdk_quotes_forgiven():
    hps = HYPERPARAMETERS.validate({"num_round": "50", "learning_rate": "0.2", "max_depth": "5",
                                    "objective": '"binary:logistic"', "eval_metric": "auc,error",
                                    "_tuning_objective_metric": "validation:auc"})
    assert hps == {"num_round": 50, "eta": 0.2, "max_depth": 5, "objective": "binary:logistic",
                   "eval_metric": ["auc", "error"], "_tuning_objective_metric": "validation:auc"}


def test_content_types_and_the_libsvm_default():
    assert content_type(None) == "libsvm"
    assert content_type("text/csv; label_size=1") == "csv"
    assert content_type("application/x-recordio-protobuf") == "recordio-protobuf"
    with pytest.raises(UserError, match="is not an accepted ContentType"):
        content_type("application/json")
    with pytest.raises(UserError, match="label_size must be equal to 1"):
        content_type("text/csv;label_size=2")


def test_round_lines_match_the_service_regexes():
    line = round_line(7, [("train", "auc", 0.987654), ("train", "error", 0.01),
                          ("validation", "auc", 0.95), ("validation", "error", 0.03)])
    assert line == "[7]#011train-auc:0.98765#011train-error:0.01000#011validation-auc:0.95000#011validation-error:0.03000"
    found = dict(MetricMatcher(DEFINITIONS["xgboost"]).match(line))
    assert found == {"train:auc": 0.98765, "train:error": 0.01, "validation:auc": 0.95, "validation:error": 0.03}
    # The tuning objective regex as SageMaker publishes it matches the same line.
    objective = r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    assert re.search(objective, line).group(1) == "0.95000"
    assert metric_definitions(["python", "-m", "openmaker.runtimes.algorithms", "xgboost"]) == DEFINITIONS["xgboost"]
    assert metric_definitions(["python", "-m", "openmaker.runtimes.training"]) == []
