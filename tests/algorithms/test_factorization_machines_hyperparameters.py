"""Factorization Machines' boundary: hyperparameters validated with the first-party wording, failures that
reach FailureReason as ``ClientError: …`` naming the problem, metric lines the service's regexes read, and
the model artifact's save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
from fmdata import movielens, protobuf
from scipy import sparse as sp

from enginehelp import ROLE, wait
from openmaker.engine.builtin_metrics import DEFINITIONS
from openmaker.engine.output import MetricMatcher
from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.factorization_machines import HYPERPARAMETERS, content_type, validate
from openmaker.runtimes.algorithms.factorization_machines.evaluate import evaluate
from openmaker.runtimes.algorithms.factorization_machines.model import FactorizationMachinesModel, fm_scores
from openmaker.runtimes.algorithms.firstparty.quality import line

IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/factorization-machines:1"
REQUIRED = {"feature_dim": "100", "num_factors": "8", "predictor_type": "regressor"}
CAUSE = "Unable to initialize the algorithm. Failed to validate input hyperparameters. (caused by ValidationError)"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"feature_dim": "100", "predictor_type": "regressor"}, "'num_factors' is a required property"),
        ({"num_factors": "8", "predictor_type": "regressor"}, "'feature_dim' is a required property"),
        ({"feature_dim": "100", "num_factors": "8"}, "'predictor_type' is a required property"),
        ({**REQUIRED, "num_factors": "0"}, "0 is not valid for 'num_factors': expected a value in [1, +inf)"),
        ({**REQUIRED, "predictor_type": "classifier"}, "'classifier' is not valid for 'predictor_type'"),
        ({**REQUIRED, "factors_lr": "-0.1"}, "-0.1 is not valid for 'factors_lr'"),
        ({**REQUIRED, "epochs": "two"}, "The value of 'epochs' is not valid for its type"),
        ({**REQUIRED, "num_factor": "8"}, "Additional properties are not allowed ('num_factor' was unexpected)"),
        ({**REQUIRED, "bias_init_method": "uniform"}, "'bias_init_scale' is required when 'bias_init_method'"),
    ],
)
def test_invalid_hyperparameters_are_named(given, named):
    with pytest.raises(UserError) as error:
        validate(given, None)
    assert error.value.message.startswith(CAUSE) and named in error.value.message


def test_defaults_are_the_documented_ones():
    hps = validate({**REQUIRED, "_tuning_objective_metric": "test:rmse", "clip_gradient": "5"}, None)
    assert hps["epochs"] == 1 and hps["mini_batch_size"] == 1000
    assert (hps["bias_lr"], hps["linear_lr"], hps["factors_lr"]) == (0.1, 0.001, 0.0001)
    assert (hps["bias_wd"], hps["linear_wd"], hps["factors_wd"]) == (0.01, 0.001, 0.00001)
    assert (hps["bias_init_sigma"], hps["linear_init_sigma"], hps["factors_init_sigma"]) == (0.01, 0.01, 0.001)
    assert hps["factors_init_method"] == "normal" and hps["clip_gradient"] == 5.0
    assert "eps" not in hps and "rescale_grad" not in hps
    assert {hp["Name"] for hp in HYPERPARAMETERS.describe()} >= {"feature_dim", "factors_init_value", "rescale_grad"}


def test_only_recordio_protobuf_trains():
    assert content_type(None) == content_type("application/x-recordio-protobuf") == "application/x-recordio-protobuf"
    with pytest.raises(UserError, match="text/csv is not supported"):
        content_type("text/csv")


def test_metric_lines_match_the_service_regexes():
    matcher = MetricMatcher(DEFINITIONS["factorization-machines"])
    assert dict(matcher.match(line("train", "rmse", 0.93, epoch=3))) == {"train:rmse": 0.93}
    scores = np.array([0.9, 0.2, 0.6, 0.4])
    found = {}
    for name, (value, kind) in evaluate("binary_classifier", scores, np.array([1.0, 0.0, 0.0, 1.0])).values().items():
        found.update(matcher.match(line("test", name, value, kind=kind)))
    assert found["test:binary_classification_accuracy"] == 0.5
    assert found["test:binary_f_beta"] == 0.5
    expected = -np.mean(np.log([0.9, 0.8, 0.4, 0.4]))
    assert found["test:binary_classification_cross_entropy"] == pytest.approx(expected)


def test_artifact_round_trip_and_the_fm_equation(tmp_path):
    rng = np.random.default_rng(3)
    w, V = rng.normal(size=20).astype(np.float32), rng.normal(size=(20, 4)).astype(np.float32)
    model = FactorizationMachinesModel("binary_classifier", 0.25, w, V)
    model.save(tmp_path)
    loaded = FactorizationMachinesModel.load(tmp_path)
    X = sp.random(30, 20, density=0.2, format="csr", random_state=4, dtype=np.float32)
    assert loaded.predict(X) == model.predict(X)
    assert loaded.feature_dim == 20 and loaded.num_factors == 4 and loaded.predictor_type == "binary_classifier"
    # The O(k·nnz) form equals the pairwise sum of Rendle's equation.
    dense = X.toarray().astype(np.float64)
    pairs = [sum(dense[r, i] * dense[r, j] * float(V[i] @ V[j]) for i in range(20) for j in range(i + 1, 20))
             for r in range(30)]
    np.testing.assert_allclose(fm_scores(X, 0.25, w, V), 0.25 + dense @ w + np.array(pairs), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fm_scores(dense.astype(np.float32), 0.25, w, V), fm_scores(X, 0.25, w, V), rtol=1e-5)


def _job(name: str, bucket: str, hyperparameters: dict[str, str], prefix: str = "train",
         content: str = "application/x-recordio-protobuf") -> dict:
    return {
        "TrainingJobName": name, "RoleArn": ROLE, "HyperParameters": hyperparameters,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "InputDataConfig": [{"ChannelName": "train", "ContentType": content, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "ResourceConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def test_failures_are_client_errors_naming_the_problem(server, s3, bucket, datasets):
    sm = server.client("sagemaker")
    ratings = movielens(datasets, rows=2000)
    s3.put_object(Bucket=bucket, Key="train/ratings.protobuf", Body=protobuf(ratings))
    s3.put_object(Bucket=bucket, Key="csv/ratings.csv", Body=b"4.0,1,0,0\n3.5,0,1,0\n")
    dim = str(ratings.feature_dim)
    good = {"feature_dim": dim, "num_factors": "8", "predictor_type": "regressor"}
    cases = {
        "fm-no-factors": ({"feature_dim": dim, "predictor_type": "regressor"}, {},
                          "'num_factors' is a required property"),
        "fm-no-dim": ({"num_factors": "8", "predictor_type": "regressor"}, {}, "'feature_dim' is a required property"),
        "fm-range": ({**good, "mini_batch_size": "0"}, {}, "0 is not valid for 'mini_batch_size'"),
        "fm-unknown": ({**good, "factor_lr": "0.1"}, {}, "('factor_lr' was unexpected)"),
        "fm-csv": (good, {"prefix": "csv", "content": "text/csv"}, "Content type text/csv is not supported"),
        "fm-labels": ({**good, "predictor_type": "binary_classifier"}, {}, "binary_classifier's labels must be 0 or 1"),
        "fm-narrow": ({**good, "feature_dim": "50"}, {}, "but feature_dim is 50"),
    }
    for name, (hps, extra, _) in cases.items():
        sm.create_training_job(**_job(name, bucket, hps, **extra))
    for name, (_, _, message) in cases.items():
        job = wait(sm, name, timeout=180)
        assert job["TrainingJobStatus"] == "Failed", name
        assert job["FailureReason"].startswith("ClientError: ") and message in job["FailureReason"], job
