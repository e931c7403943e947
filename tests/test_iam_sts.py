"""IAM and STS through the real server with boto3: roles, users, keys, AssumeRole sessions."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def sts(server):
    return server.client("sts")


def _code(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_root_identity_and_default_role(server, sts, iam) -> None:
    me = sts.get_caller_identity()
    account = me["Account"]
    assert me["Arn"] == f"arn:aws:iam::{account}:root" and me["UserId"] == account
    role = iam.get_role(RoleName="SageMakerRole")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/SageMakerRole"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "sagemaker.amazonaws.com"
    }


def test_role_lifecycle(iam) -> None:
    document = json.dumps(TRUST)
    role = iam.create_role(
        RoleName="LifeRole", AssumeRolePolicyDocument=document, Path="/team/", Description="x"
    )["Role"]
    assert role["RoleId"].startswith("AROA") and role["Arn"].endswith(":role/team/LifeRole")
    assert role["AssumeRolePolicyDocument"] == TRUST  # botocore decodes IAM's URL-encoded JSON

    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="LifeRole", AssumeRolePolicyDocument=document)
    assert _code(err.value) == ("EntityAlreadyExists", 409)
    assert "Role with name LifeRole already exists." in str(err.value)
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="BadDoc", AssumeRolePolicyDocument="{not json")
    assert _code(err.value)[0] == "MalformedPolicyDocument"

    names = [r["RoleName"] for r in iam.list_roles(PathPrefix="/team/")["Roles"]]
    assert names == ["LifeRole"]
    pages = list(iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) >= 2 and {"LifeRole", "SageMakerRole"} <= {
        r["RoleName"] for p in pages for r in p["Roles"]
    }

    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    iam.attach_role_policy(RoleName="LifeRole", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="LifeRole")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonS3FullAccess", "PolicyArn": arn}]
    inline = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="LifeRole", PolicyName="inline", PolicyDocument=json.dumps(inline))
    got = iam.get_role_policy(RoleName="LifeRole", PolicyName="inline")
    assert got["PolicyDocument"] == inline and got["RoleName"] == "LifeRole"
    assert iam.list_role_policies(RoleName="LifeRole")["PolicyNames"] == ["inline"]

    with pytest.raises(ClientError) as err:
        iam.delete_role(RoleName="LifeRole")
    assert _code(err.value) == ("DeleteConflict", 409)
    iam.detach_role_policy(RoleName="LifeRole", PolicyArn=arn)
    iam.delete_role_policy(RoleName="LifeRole", PolicyName="inline")
    iam.delete_role(RoleName="LifeRole")
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName="LifeRole")
    assert _code(err.value) == ("NoSuchEntity", 404)
    assert err.value.response["Error"]["Message"] == "The role with name LifeRole cannot be found."


def test_assume_role_credentials_work(server, sts, iam) -> None:
    account = sts.get_caller_identity()["Account"]
    role_arn = f"arn:aws:iam::{account}:role/SageMakerRole"
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="nb-session", DurationSeconds=900)
    creds = answer["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/SageMakerRole/nb-session"
    role_id = iam.get_role(RoleName="SageMakerRole")["Role"]["RoleId"]
    assert answer["AssumedRoleUser"]["AssumedRoleId"] == f"{role_id}:nb-session"

    assumed = server.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    me = assumed.get_caller_identity()
    assert me["Arn"] == answer["AssumedRoleUser"]["Arn"]
    assert me["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]

    wrong_token = server.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token="not-the-token",
    )
    with pytest.raises(ClientError):
        wrong_token.get_caller_identity()


def test_assume_role_errors(sts) -> None:
    account = sts.get_caller_identity()["Account"]
    missing = f"arn:aws:iam::{account}:role/NoSuchRole"
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=missing, RoleSessionName="s1")
    assert _code(err.value) == ("AccessDenied", 403)
    assert err.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{account}:root is not authorized to perform: sts:AssumeRole on resource: {missing}"
    )
    with pytest.raises(ClientError) as err:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/SageMakerRole", RoleSessionName="s1", DurationSeconds=7200
        )
    assert _code(err.value)[0] == "ValidationError"


def test_user_keys(server, iam) -> None:
    user = iam.create_user(UserName="bob")["User"]
    assert user["UserId"].startswith("AIDA")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    iam.create_access_key(UserName="bob")
    with pytest.raises(ClientError) as err:
        iam.create_access_key(UserName="bob")
    assert _code(err.value) == ("LimitExceeded", 409)

    as_bob = dict(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    me = server.client("sts", **as_bob).get_caller_identity()
    assert me["Arn"] == user["Arn"] and me["UserId"] == user["UserId"]
    bob_iam = server.client("iam", **as_bob)
    assert bob_iam.get_user()["User"]["UserName"] == "bob"
    assert len(bob_iam.list_access_keys()["AccessKeyMetadata"]) == 2

    iam.update_access_key(UserName="bob", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError):
        server.client("sts", **as_bob).get_caller_identity()
    iam.update_access_key(UserName="bob", AccessKeyId=key["AccessKeyId"], Status="Active")
    assert server.client("sts", **as_bob).get_caller_identity()["Arn"] == user["Arn"]

    iam.delete_access_key(UserName="bob", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as err:
        server.client("sts", **as_bob).get_caller_identity()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)

    with pytest.raises(ClientError) as err:
        iam.delete_user(UserName="bob")
    assert _code(err.value) == ("DeleteConflict", 409)
    for k in iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="bob", AccessKeyId=k["AccessKeyId"])
    iam.delete_user(UserName="bob")
    assert "bob" not in [u["UserName"] for u in iam.list_users()["Users"]]
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName="bob")
    assert _code(err.value) == ("NoSuchEntity", 404)


def test_root_get_user(iam, sts) -> None:
    account = sts.get_caller_identity()["Account"]
    me = iam.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{account}:root" and me["UserId"] == account
