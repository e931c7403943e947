"""STS: who am I, and temporary credentials for a role.

Credentials minted by AssumeRole go into the IAM store's key table, so the server's per-request
lookup authenticates them like any other key and names the caller as the assumed role. Trust
policies are recorded but not evaluated: any caller of the account may assume any of its roles.
"""

from __future__ import annotations

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.handlers import handler
from openmaker.storage.iam import IamStore

MIN_DURATION = 900


def _caller(ctx: RequestContext) -> tuple[str, str, str]:
    """(UserId, Account, Arn) of the signer; the root of the account when nobody signed (insecure)."""
    p = ctx.principal
    if p is None:
        return ctx.account_id, ctx.account_id, f"arn:aws:iam::{ctx.account_id}:root"
    return p.user_id, p.account_id, p.arn


@handler("sts", "GetCallerIdentity")
def get_caller_identity(ctx: RequestContext, params: dict) -> dict:
    user_id, account, arn = _caller(ctx)
    return {"UserId": user_id, "Account": account, "Arn": arn}


@handler("sts", "AssumeRole")
def assume_role(ctx: RequestContext, params: dict) -> dict:
    store: IamStore = ctx.app.iam
    role_arn = params["RoleArn"]
    role = store.find_role_by_arn(role_arn)
    if role is None:
        _, _, caller = _caller(ctx)
        raise AwsError(
            "AccessDenied",
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )
    duration = int(params.get("DurationSeconds") or 3600)
    if duration < MIN_DURATION:
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {MIN_DURATION}",
            400,
        )
    if duration > role.max_session_duration:
        raise AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            400,
        )
    session = store.assume_role(role, params["RoleSessionName"], duration)
    cred = session.credential
    out: dict = {
        "Credentials": {
            "AccessKeyId": cred.access_key_id,
            "SecretAccessKey": cred.secret_access_key,
            "SessionToken": cred.session_token,
            "Expiration": cred.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": session.assumed_role_id, "Arn": session.assumed_role_arn},
    }
    if params.get("Policy") or params.get("PolicyArns"):
        out["PackedPolicySize"] = 6  # a percentage of the packed-policy quota, as AWS reports it
    if params.get("SourceIdentity"):
        out["SourceIdentity"] = params["SourceIdentity"]
    return out
