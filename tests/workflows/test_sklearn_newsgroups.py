"""The inference-pipeline tutorial (SEED-WORKFLOWS §2) with the official SDK v2: the 20 newsgroups posts
prepared as the tutorial does, uploaded with boto3, trained by the tutorial's ``train.py`` (argparse,
``from sklearn.externals import joblib``, hard-coded ``/opt/ml/model`` paths, ``requirements.txt`` with
s3fs) through ``SKLearn(...).fit(..., logs=True)``, and the artifact checked by loading it."""

from __future__ import annotations

import json
import pickle
import shutil
import tarfile
from pathlib import Path

import pytest
from newsgroups import prepare

SOURCE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "newsgroups" / "source_dir"
SANDBOX = shutil.which("bwrap") is not None


@pytest.fixture(scope="session")
def newsgroups_csv(datasets, tmp_path_factory) -> dict[str, Path]:
    """train.csv and test.csv, prepared once per session (it takes a few seconds)."""
    return prepare(datasets / "20newsgroups" / "20news-bydate.tar.gz", tmp_path_factory.mktemp("newsgroups"))


@pytest.mark.skipif(
    not SANDBOX, reason="the script writes /opt/ml/model/... by hard-coded paths: needs bubblewrap"
)
def test_newsgroups_tutorial(server, s3, sagemaker_session, newsgroups_csv, tmp_path, capfd) -> None:
    from sagemaker.sklearn.estimator import SKLearn

    bucket = sagemaker_session.default_bucket()
    s3.upload_file(str(newsgroups_csv["train"]), bucket, "train/train.csv")  # as the tutorial: boto3

    aws_sklearn = SKLearn(
        entry_point="train.py",
        source_dir=str(SOURCE_DIR),
        instance_type="ml.m4.xlarge",
        role="SageMakerRole",
        py_version="py3",
        framework_version="0.20.0",
        sagemaker_session=sagemaker_session,
    )
    capfd.readouterr()
    aws_sklearn.fit({"train": f"s3://{bucket}/train/train.csv"}, logs=True)
    printed = capfd.readouterr().out
    job = aws_sklearn.latest_training_job.describe()
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    # The job's own lines came back through CloudWatch Logs while fit() waited.
    assert "training rows: 11314" in printed, printed[-3000:]
    assert "saved model.joblib, tf_idf_vocab.pkl and label_json.json" in printed
    assert "Invoking script with the following command" in printed

    # The artifact: what the script wrote to its model dir and to the hard-coded paths.
    model_data = aws_sklearn.model_data
    assert model_data == f"s3://{bucket}/{job['TrainingJobName']}/output/model.tar.gz"
    archive = tmp_path / "model.tar.gz"
    s3.download_file(bucket, model_data.split(f"s3://{bucket}/", 1)[1], str(archive))
    model_dir = tmp_path / "model"
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")
    assert {"model.joblib", "tf_idf_vocab.pkl", "label_json.json"} <= {p.name for p in model_dir.iterdir()}

    import joblib
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer

    model = joblib.load(model_dir / "model.joblib")
    vocabulary = pickle.loads((model_dir / "tf_idf_vocab.pkl").read_bytes())
    labels = json.loads((model_dir / "label_json.json").read_text())
    assert len(labels) == 20 and labels["4"] == "comp.sys.mac.hardware"

    train = pd.read_csv(newsgroups_csv["train"], index_col=0)
    test = pd.read_csv(newsgroups_csv["test"], index_col=0)
    # The pickled vocabulary fixes the features; refitting on the training text gives back the idf.
    vectorizer = TfidfVectorizer(vocabulary=vocabulary).fit(train["data"].fillna(""))
    predicted = model.predict(vectorizer.transform(test["data"].fillna("")))
    accuracy = float((predicted == test["label"].to_numpy()).mean())
    assert accuracy >= 0.80, accuracy

    # The serving functions of the same script load what training saved (with the compat alias jobs get
    # for ``sklearn.externals.joblib``).
    import importlib.util

    from openmaker.runtimes.compat import sitecustomize  # noqa: F401

    spec = importlib.util.spec_from_file_location("newsgroups_train", SOURCE_DIR / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    served = script.model_fn(str(model_dir))
    assert (served.predict(vectorizer.transform(test["data"][:50].fillna(""))) == predicted[:50]).all()
