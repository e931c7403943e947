"""Batch transform with the official SageMaker SDK v2 and a real model: ``SKLearn(...).fit()`` trains a
scikit-learn regression as a framework training job, then ``estimator.transformer(...).transform(...)``
and ``.wait()`` run it over CSV files, as the book's chapter 3 does with Linear Learner."""

from __future__ import annotations

import time

import boto3
import pytest

TRAIN = """
import argparse, os
import joblib, numpy as np
from sklearn.linear_model import LinearRegression

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()
    data = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",")
    model = LinearRegression().fit(data[:, 1:], data[:, 0])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    print("coefficients", model.coef_.round(3).tolist())
"""


class FastClock:
    """The SDK's ``time`` with waits cut to 0.2 s, so ``wait()`` polls at once (its sleeps are 10 s)."""

    def __init__(self, real) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        self._real.sleep(min(seconds, 0.2))

    def __getattr__(self, name: str):
        return getattr(self._real, name)


@pytest.fixture
def session(server, monkeypatch):
    import sagemaker
    import sagemaker.session

    import openmaker.sdk  # noqa: F401  (the documented one line: the SDK's STS client follows the endpoint)

    env = server.env()
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "SAGEMAKER_USER_CONFIG_OVERRIDE",
    ):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    monkeypatch.setattr(sagemaker.session, "time", FastClock(time))
    boto_session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    return sagemaker.Session(boto_session=boto_session)


def test_sklearn_transformer_wait(server, s3, session, tmp_path):
    from sagemaker.sklearn.estimator import SKLearn

    bucket = session.default_bucket()
    rows = [(x1, x2) for x1 in range(10) for x2 in range(5)]
    train = "".join(f"{3 * a + 2 * b + 1},{a},{b}\n" for a, b in rows)
    s3.put_object(Bucket=bucket, Key="tr-sdk/train/train.csv", Body=train.encode())
    s3.put_object(Bucket=bucket, Key="tr-sdk/batch/part-1.csv", Body=b"1,1\n2,0\n")
    s3.put_object(Bucket=bucket, Key="tr-sdk/batch/more/part-2.csv", Body=b"0,0\n")
    (tmp_path / "train.py").write_text(TRAIN)

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(tmp_path),
        framework_version="1.2-1",
        py_version="py3",
        instance_type="ml.m5.large",
        instance_count=1,
        role="arn:aws:iam::000000000000:role/openmaker-test",
        sagemaker_session=session,
    )
    estimator.fit({"train": f"s3://{bucket}/tr-sdk/train/"}, logs=False)

    transformer = estimator.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=f"s3://{bucket}/tr-sdk/predictions",
    )
    transformer.transform(
        f"s3://{bucket}/tr-sdk/batch/", content_type="text/csv", split_type="Line", join_source="Input"
    )
    transformer.wait(logs=True)
    job = session.sagemaker_client.describe_transform_job(
        TransformJobName=transformer.latest_transform_job.name
    )
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")

    def rows_of(key: str) -> list[list[float]]:
        body = s3.get_object(Bucket=bucket, Key=f"tr-sdk/predictions/{key}")["Body"].read().decode()
        return [[float(v) for v in line.split(",")] for line in body.splitlines()]

    assert rows_of("part-1.csv.out") == [[1, 1, pytest.approx(6)], [2, 0, pytest.approx(7)]]
    assert rows_of("more/part-2.csv.out") == [[0, 0, pytest.approx(1)]]
