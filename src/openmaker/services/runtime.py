"""SageMaker Runtime: InvokeEndpoint (rest-json, ``POST /endpoints/<name>/invocations``).

The handler is async and runs on the server's event loop: the router's hop to the model server is
an async keep-alive request, so an invocation costs no thread hop and no database read. Router
errors are worded here as the real service words them (the unknown-endpoint text is the service's
own: "Endpoint X of account Y not found.").
"""

from __future__ import annotations

import anyio.to_thread

from openmaker.aws.context import RequestContext
from openmaker.aws.errors import AwsError
from openmaker.aws.handlers import handler
from openmaker.engine.hosting.router import (
    BadTarget,
    Invocation,
    ModelFailure,
    NoRoute,
    NoVariant,
    Unavailable,
)

MAX_PAYLOAD = 6 * 1024 * 1024  # 6291456 bytes, InvokeEndpoint's limit


def _error(code: str, message: str, status: int = 400, **fields: object) -> AwsError:
    return AwsError(code, message, status, **fields)


@handler("sagemaker-runtime", "InvokeEndpoint")
async def invoke_endpoint(ctx: RequestContext, params: dict) -> dict:
    name = params["EndpointName"]
    body = params.get("Body") or b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > MAX_PAYLOAD:
        raise _error(
            "ValidationError",
            f"Request {ctx.request_id} has oversize body.",
        )
    if params.get("TargetModel") or params.get("InferenceComponentName") or params.get("SessionId"):
        raise _error(
            "ValidationError",
            "openmaker does not support multi-model endpoints, inference components or stateful sessions "
            "(TargetModel, InferenceComponentName, SessionId).",
        )
    call = Invocation(
        body=body,
        content_type=params.get("ContentType"),
        accept=params.get("Accept"),
        custom_attributes=params.get("CustomAttributes"),
        target_variant=params.get("TargetVariant"),
        target_hostname=params.get("TargetContainerHostname"),
        inference_id=params.get("InferenceId"),
    )
    router = ctx.app.engine.hosting.router
    try:
        answer = await router.invoke(name, call)
    except NoRoute:
        raise await _not_serving(ctx, name) from None
    except NoVariant as exc:
        raise _error("ValidationError", f"Variant {exc} not found for endpoint {name}.") from None
    except BadTarget as exc:
        raise _error("ValidationError", str(exc)) from None
    except Unavailable as exc:
        raise _error(
            "ServiceUnavailable",
            f"No instance of variant {exc} of endpoint {name} is healthy right now (its model server is "
            "restarting). Try again.",
            503,
        ) from None
    except ModelFailure as exc:
        group = f"/aws/sagemaker/Endpoints/{name}"
        fields: dict[str, object] = {
            "LogStreamArn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{group}:log-stream:{exc.stream}"
        }
        if exc.status is not None:
            fields["OriginalStatusCode"] = exc.status
        if exc.original is not None:
            fields["OriginalMessage"] = exc.original[:4096]
        message = (
            f"{exc} See the log stream {exc.stream} of log group {group} in account {ctx.account_id} "
            "for more information."
        )
        raise _error("ModelError", message, 424, **fields) from None
    out = {
        "Body": answer.body,
        "ContentType": answer.content_type,
        "InvokedProductionVariant": answer.variant,
        "CustomAttributes": answer.custom_attributes,
    }
    return {key: value for key, value in out.items() if value is not None}


async def _not_serving(ctx: RequestContext, name: str) -> AwsError:
    record = await anyio.to_thread.run_sync(ctx.app.jobs.get, "Endpoint", name)
    if record is None:
        return _error("ValidationError", f"Endpoint {name} of account {ctx.account_id} not found.")
    return _error(
        "ValidationError",
        f"Endpoint {name} of account {ctx.account_id} is not in service: its status is {record.status}"
        + (f" ({record.failure_reason})." if record.failure_reason else "."),
    )


@handler("sagemaker-runtime", "InvokeEndpointWithResponseStream")
async def invoke_endpoint_with_response_stream(ctx: RequestContext, params: dict) -> dict:
    raise _error(
        "ValidationError",
        "openmaker does not support InvokeEndpointWithResponseStream yet: call InvokeEndpoint, which "
        "returns the whole response at once.",
    )
