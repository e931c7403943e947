"""Fixtures for the end-to-end workflows: the official SageMaker SDK (v2, in process) pointed at the session
server exactly as a user's shell is after ``eval "$(openmaker env)"``, and the role the tutorials name."""

from __future__ import annotations

import json

import boto3
import pytest
from sdkclock import FastClock

ROLE_NAME = "SageMakerRole"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
# Variables of `openmaker env` the in-process SDK needs (PYTHONPATH only matters to new processes).
SDK_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "SAGEMAKER_USER_CONFIG_OVERRIDE",
)


@pytest.fixture(scope="session")
def role(server) -> str:
    """The execution role the tutorials pass by name (the SDK expands it with iam:GetRole)."""
    iam = server.client("iam")
    try:
        arn = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    return arn


@pytest.fixture(scope="module")
def sdk_env(server):
    """The user's environment for in-process SDK use; restored after the module."""
    import openmaker.sdk  # noqa: F401  (the documented one line: the SDK's STS client follows the endpoint)

    env = server.env()
    with pytest.MonkeyPatch.context() as patch:
        for name in SDK_VARIABLES:
            patch.setenv(name, env[name])
        patch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(name, raising=False)
        yield env


@pytest.fixture(scope="module")
def sagemaker_session(sdk_env, role):
    import sagemaker

    boto_session = boto3.Session(
        aws_access_key_id=sdk_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=sdk_env["AWS_SECRET_ACCESS_KEY"],
        region_name=sdk_env["AWS_DEFAULT_REGION"],
    )
    return sagemaker.Session(boto_session=boto_session)


@pytest.fixture
def fast_sdk_clock(monkeypatch):
    """Make the SDK's polling waits short (see :class:`FastClock`) for one test."""
    import time

    import sagemaker.session

    monkeypatch.setattr(sagemaker.session, "time", FastClock(time))
