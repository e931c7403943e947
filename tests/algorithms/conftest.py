"""Fixtures for the built-in algorithm tests: the SageMaker SDK v2 (in process) against the session server
with its polling waits shortened (:class:`FastClock`), and real data sets made into the algorithms' CSV
(label first, no header)."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from workflows.sdkclock import FastClock

SDK_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                 "SAGEMAKER_USER_CONFIG_OVERRIDE")
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                  "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def sdk(server):
    """A ``sagemaker.Session`` for the session server, the SDK's waits cut to 0.2 s."""
    import sagemaker
    import sagemaker.session

    import openmaker.sdk  # noqa: F401  (the SDK's STS client follows the endpoint)

    env = server.env()
    with pytest.MonkeyPatch.context() as patch:
        for name in SDK_VARIABLES:
            patch.setenv(name, env[name])
        patch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
        patch.setattr(sagemaker.session, "time", FastClock(time))
        boto_session = boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                     aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                     region_name=env["AWS_DEFAULT_REGION"])
        yield sagemaker.Session(boto_session=boto_session)


@pytest.fixture(scope="module")
def role(server) -> str:
    iam = server.client("iam")
    try:
        return iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName="SageMakerRole")["Role"]["Arn"]
