"""IAM: users, roles, role policies and access keys, answered as the real service answers them.

IAM sends policy documents URL-encoded (``urlencode(json)``) inside its XML and botocore decodes
them back to dicts (``botocore.handlers.json_decode_policies``), so handlers return the stored text
quoted. Policies are stored and honoured only as records: openmaker does not evaluate them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any
from urllib.parse import quote

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.handlers import handler
from openmaker.storage.iam import (
    AccessKey,
    DeleteConflict,
    EntityAlreadyExists,
    IamStore,
    IamStoreError,
    LimitExceeded,
    NoSuchEntity,
    Role,
    User,
)

_STATUS = {NoSuchEntity: 404, EntityAlreadyExists: 409, DeleteConflict: 409, LimitExceeded: 409}
_POLICY_ARN_PREFIX = "arn:aws:iam::"


def _store(ctx: RequestContext) -> IamStore:
    return ctx.app.iam


@contextmanager
def _iam_errors() -> Iterator[None]:
    """Turn the store's errors into IAM's codes and statuses (NoSuchEntity is a 404...)."""
    try:
        yield
    except IamStoreError as error:
        code = type(error).__name__
        raise AwsError(code, error.message, _STATUS.get(type(error), 400)) from None


def iam_handler(operation: str) -> Callable:
    """Register an IAM handler whose store errors become IAM errors."""

    def register(fn: Callable[[RequestContext, dict], dict]) -> Callable:
        @wraps(fn)
        def run(ctx: RequestContext, params: dict) -> dict:
            with _iam_errors():
                return fn(ctx, params)

        return handler("iam", operation)(run)

    return register


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def check_policy_document(document: str) -> None:
    """Refuse what IAM refuses: text that is not JSON, or JSON that is not a policy object."""
    try:
        parsed = json.loads(document)
    except ValueError:
        raise AwsError("MalformedPolicyDocument", "This policy contains invalid Json", 400) from None
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise AwsError("MalformedPolicyDocument", "Syntax errors in policy.", 400)


def _check_path(path: str) -> str:
    if not (path == "/" or (path.startswith("/") and path.endswith("/") and "//" not in path)):
        raise validation_error(
            f"The specified value for path is invalid. It must begin and end with / and contain only "
            f"alphanumeric characters and/or / characters. Path: {path}"
        )
    return path


def _check_policy_arn(arn: str) -> str:
    if not arn.startswith(_POLICY_ARN_PREFIX) or ":policy/" not in arn:
        raise AwsError("InvalidInput", f"ARN {arn} is not valid.", 400)
    return arn


def _page_size(params: dict) -> int:
    return int(params.get("MaxItems") or 100)


def role_dict(role: Role, *, with_policy: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.create_date,
        "MaxSessionDuration": role.max_session_duration,
    }
    if with_policy:
        out["AssumeRolePolicyDocument"] = quote(role.assume_role_policy, safe="")
    if role.description is not None:
        out["Description"] = role.description
    return out


def user_dict(user: User) -> dict[str, Any]:
    return {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.create_date,
    }


def _key_dict(key: AccessKey) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserName": key.user_name,
        "AccessKeyId": key.access_key_id,
        "Status": key.status,
        "CreateDate": key.create_date,
    }
    if key.secret_access_key is not None:
        out["SecretAccessKey"] = key.secret_access_key
    return out


def _listing(key: str, items: list, marker: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {key: items, "IsTruncated": marker is not None}
    if marker is not None:
        out["Marker"] = marker
    return out


def _caller_user_name(ctx: RequestContext, params: dict) -> str | None:
    """``UserName`` if given, else the calling user's name; None when the caller is the root."""
    if params.get("UserName"):
        return params["UserName"]
    principal = ctx.principal
    if principal is None or principal.arn.endswith(":root"):
        return None
    user = _store(ctx).get_user_by_id(principal.user_id)
    if user is None:
        raise validation_error("Must specify userName when calling with non-User credentials")
    return user.name


# --- roles ----------------------------------------------------------------------------------------


@iam_handler("CreateRole")
def create_role(ctx: RequestContext, params: dict) -> dict:
    document = params["AssumeRolePolicyDocument"]
    check_policy_document(document)
    role = _store(ctx).create_role(
        params["RoleName"],
        document,
        path=_check_path(params.get("Path") or "/"),
        description=params.get("Description"),
        max_session_duration=int(params.get("MaxSessionDuration") or 3600),
    )
    return {"Role": role_dict(role)}


@iam_handler("GetRole")
def get_role(ctx: RequestContext, params: dict) -> dict:
    out = role_dict(_store(ctx).get_role(params["RoleName"]))
    out["RoleLastUsed"] = {}
    return {"Role": out}


@iam_handler("ListRoles")
def list_roles(ctx: RequestContext, params: dict) -> dict:
    page = _store(ctx).list_roles(params.get("PathPrefix") or "/", params.get("Marker"), _page_size(params))
    return _listing("Roles", [role_dict(r) for r in page.items], page.marker)


@iam_handler("DeleteRole")
def delete_role(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).delete_role(params["RoleName"])
    return {}


@iam_handler("UpdateRole")
def update_role(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).update_role(params["RoleName"], params.get("Description"), params.get("MaxSessionDuration"))
    return {}


@iam_handler("UpdateAssumeRolePolicy")
def update_assume_role_policy(ctx: RequestContext, params: dict) -> dict:
    check_policy_document(params["PolicyDocument"])
    _store(ctx).update_assume_role_policy(params["RoleName"], params["PolicyDocument"])
    return {}


@iam_handler("AttachRolePolicy")
def attach_role_policy(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).attach_role_policy(params["RoleName"], _check_policy_arn(params["PolicyArn"]))
    return {}


@iam_handler("DetachRolePolicy")
def detach_role_policy(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).detach_role_policy(params["RoleName"], _check_policy_arn(params["PolicyArn"]))
    return {}


@iam_handler("ListAttachedRolePolicies")
def list_attached_role_policies(ctx: RequestContext, params: dict) -> dict:
    page = _store(ctx).list_attached_role_policies(
        params["RoleName"], params.get("PathPrefix") or "/", params.get("Marker"), _page_size(params)
    )
    items = [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in page.items]
    return _listing("AttachedPolicies", items, page.marker)


@iam_handler("PutRolePolicy")
def put_role_policy(ctx: RequestContext, params: dict) -> dict:
    check_policy_document(params["PolicyDocument"])
    _store(ctx).put_role_policy(params["RoleName"], params["PolicyName"], params["PolicyDocument"])
    return {}


@iam_handler("GetRolePolicy")
def get_role_policy(ctx: RequestContext, params: dict) -> dict:
    role, name, document = _store(ctx).get_role_policy(params["RoleName"], params["PolicyName"])
    return {"RoleName": role, "PolicyName": name, "PolicyDocument": quote(document, safe="")}


@iam_handler("ListRolePolicies")
def list_role_policies(ctx: RequestContext, params: dict) -> dict:
    page = _store(ctx).list_role_policies(params["RoleName"], params.get("Marker"), _page_size(params))
    return _listing("PolicyNames", page.items, page.marker)


@iam_handler("DeleteRolePolicy")
def delete_role_policy(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).delete_role_policy(params["RoleName"], params["PolicyName"])
    return {}


# --- users ----------------------------------------------------------------------------------------


@iam_handler("CreateUser")
def create_user(ctx: RequestContext, params: dict) -> dict:
    user = _store(ctx).create_user(params["UserName"], path=_check_path(params.get("Path") or "/"))
    return {"User": user_dict(user)}


@iam_handler("GetUser")
def get_user(ctx: RequestContext, params: dict) -> dict:
    name = _caller_user_name(ctx, params)
    if name is None:  # the root: IAM answers its id and ARN, without a user name
        account = ctx.principal.account_id if ctx.principal else ctx.account_id
        return {
            "User": {
                "UserId": account,
                "Arn": f"arn:aws:iam::{account}:root",
                "CreateDate": _store(ctx).account_created(),
            }
        }
    return {"User": user_dict(_store(ctx).get_user(name))}


@iam_handler("ListUsers")
def list_users(ctx: RequestContext, params: dict) -> dict:
    page = _store(ctx).list_users(params.get("PathPrefix") or "/", params.get("Marker"), _page_size(params))
    return _listing("Users", [user_dict(u) for u in page.items], page.marker)


@iam_handler("DeleteUser")
def delete_user(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).delete_user(params["UserName"])
    return {}


# --- access keys ----------------------------------------------------------------------------------


def _user_for_keys(ctx: RequestContext, params: dict) -> str:
    name = _caller_user_name(ctx, params)
    if name is None:
        raise validation_error(
            "openmaker keeps the root access key in credentials.json; pass UserName to manage an IAM user's keys."
        )
    return name


@iam_handler("CreateAccessKey")
def create_access_key(ctx: RequestContext, params: dict) -> dict:
    return {"AccessKey": _key_dict(_store(ctx).create_access_key(_user_for_keys(ctx, params)))}


@iam_handler("ListAccessKeys")
def list_access_keys(ctx: RequestContext, params: dict) -> dict:
    name = _caller_user_name(ctx, params)
    if name is None:  # the root lists its own key
        principal = ctx.principal
        items = [{"AccessKeyId": principal.access_key_id, "Status": "Active"}] if principal else []
        return _listing("AccessKeyMetadata", items, None)
    page = _store(ctx).list_access_keys(name, params.get("Marker"), _page_size(params))
    return _listing("AccessKeyMetadata", [_key_dict(k) for k in page.items], page.marker)


@iam_handler("DeleteAccessKey")
def delete_access_key(ctx: RequestContext, params: dict) -> dict:
    _store(ctx).delete_access_key(_user_for_keys(ctx, params), params["AccessKeyId"])
    return {}


@iam_handler("UpdateAccessKey")
def update_access_key(ctx: RequestContext, params: dict) -> dict:
    status = params["Status"]
    if status not in ("Active", "Inactive"):
        raise validation_error(
            f"Value '{status}' at 'status' failed to satisfy constraint: Member must "
            "satisfy enum value set: [Active, Inactive]"
        )
    _store(ctx).update_access_key(_user_for_keys(ctx, params), params["AccessKeyId"], status)
    return {}
