"""AddTags, ListTags and DeleteTags on any SageMaker ARN.

Tags live beside the resources (``JobStore`` tag table, keyed by ARN), so any resource kind can be
tagged without its own column. For the job kinds recorded here the resource must exist; other kinds
(models, endpoints...) are checked by ARN shape only until their handlers record them.
"""

from __future__ import annotations

import base64
import binascii

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import validation_error
from openmaker.aws.handlers import handler
from openmaker.services.sagemaker.common import SAGEMAKER_ARN, check_tags, jobs

MAX_TAGS = 50
# ARN resource type → JobStore kind.
JOB_KINDS = {
    "training-job": "TrainingJob",
    "processing-job": "ProcessingJob",
    "transform-job": "TransformJob",
    "hyper-parameter-tuning-job": "HyperParameterTuningJob",
}


def _check_resource(ctx: RequestContext, arn: str) -> None:
    match = SAGEMAKER_ARN.match(arn)
    if match is None:
        raise validation_error(f"{arn!r} is not a valid SageMaker resource ARN.")
    resource, name = match.group(3), match.group(4)
    kind = JOB_KINDS.get(resource)
    if kind is None:
        return
    if not any(record.arn == arn for record in jobs(ctx).list(kind, name_contains=name)):
        raise validation_error(f"Could not find resource {arn}.")


@handler("sagemaker", "AddTags")
def add_tags(ctx: RequestContext, params: dict) -> dict:
    arn = params["ResourceArn"]
    _check_resource(ctx, arn)
    tags = check_tags(params["Tags"])
    store = jobs(ctx)
    keys = {tag["Key"] for tag in store.list_tags(arn)} | {tag["Key"] for tag in tags}
    if len(keys) > MAX_TAGS:
        raise validation_error(
            f"A resource can have at most {MAX_TAGS} tags; this request would make {len(keys)}."
        )
    store.add_tags(arn, tags)
    return {"Tags": tags}


@handler("sagemaker", "ListTags")
def list_tags(ctx: RequestContext, params: dict) -> dict:
    arn = params["ResourceArn"]
    _check_resource(ctx, arn)
    tags = jobs(ctx).list_tags(arn)
    offset = _offset(params.get("NextToken"))
    limit = params.get("MaxResults") or MAX_TAGS
    out: dict = {"Tags": tags[offset : offset + limit]}
    if offset + limit < len(tags):
        out["NextToken"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
    return out


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(token.encode()).decode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_error("The NextToken is not valid.") from None


@handler("sagemaker", "DeleteTags")
def delete_tags(ctx: RequestContext, params: dict) -> dict:
    arn = params["ResourceArn"]
    _check_resource(ctx, arn)
    jobs(ctx).delete_tags(arn, params["TagKeys"])
    return {}
