"""The request pipeline: route → authenticate → parse → validate → handle → serialize.

Every request, for every service, goes through :meth:`Gateway.handle`; handlers never see HTTP.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread

from openmaker.aws import auth, handlers, parsers, routing, specs, validate
from openmaker.aws.context import Credential, Principal, RequestContext
from openmaker.aws.errors import AwsError, InternalError, not_implemented
from openmaker.aws.request import HttpRequest
from openmaker.aws.serializers import HttpResponse, serialize, serialize_error
from openmaker.aws.streams import RequestBody

log = logging.getLogger("openmaker.aws")

CredentialLookup = Callable[[str], Credential | None]


def new_request_id() -> str:
    return os.urandom(8).hex().upper()  # 16 random upper-case hex digits


class Gateway:
    """Answers AWS requests for every served service on one port."""

    def __init__(
        self,
        app: Any,
        lookup: CredentialLookup,
        *,
        region: str,
        account_id: str,
        insecure: bool = False,
        default_principal: Principal | None = None,
    ) -> None:
        self.app = app
        self.lookup = lookup
        self.region = region
        self.account_id = account_id
        self.insecure = insecure
        self.default_principal = default_principal  # who unsigned/unknown callers are when insecure

    async def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        request.request_id = request_id
        service: str | None = None
        protocol: str | None = None  # the request's, for a service reachable by several
        head = request.method.upper() == "HEAD"
        try:
            info, malformed = auth.parse(request)
            form = await _read_form(request, info.service if info else None)
            service = routing.find_service(request, info.service if info else None, form)
            protocol = routing.request_protocol(service, request, form)
            if malformed is not None and not self.insecure:
                raise malformed.as_kind(auth.kind(service, protocol))
            principal, region = await auth.authenticate(self, request, service, info, protocol)
            operation, params = await parsers.parse(service, request, form, protocol)
            validate.validate(service, operation.input_shape, params)
            fn = handlers.get_handler(service, operation.name)
            if fn is None:
                raise not_implemented(service, operation.name)
            ctx = RequestContext(
                service=service,
                operation=operation,
                request=request,
                request_id=request_id,
                region=region or self.region,
                account_id=principal.account_id if principal else self.account_id,
                principal=principal,
                app=self.app,
            )
            if inspect.iscoroutinefunction(fn):
                result = await fn(ctx, params)
            else:
                result = await anyio.to_thread.run_sync(fn, ctx, params)
            response = serialize(service, operation, result, request_id, protocol)
            if ctx.response_status is not None:
                response.status = ctx.response_status
            response.headers.update(ctx.response_headers)
            return response
        except AwsError as error:
            return serialize_error(
                service or _guess_service(request), error, request_id, head=head, protocol=protocol
            )
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.raw_path)
            return serialize_error(
                service or _guess_service(request), InternalError(), request_id, head=head, protocol=protocol
            )


def _guess_service(request: HttpRequest) -> str:
    if "x-amz-target" in request.headers:
        target = request.headers["x-amz-target"].split(".", 1)[0]
        return specs.by_target_prefix().get(target, "sagemaker")
    return "s3"


async def _read_form(request: HttpRequest, signing_service: str | None) -> dict[str, str] | None:
    """The form body of a query-protocol POST (STS, IAM), merged over the query string."""
    content_type = request.headers.get("content-type", "")
    if (
        request.method.upper() != "POST"
        or signing_service == "s3"
        or "x-amz-target" in request.headers
        or not content_type.startswith("application/x-www-form-urlencoded")
    ):
        return None
    raw = await request.body.read()
    request.body = RequestBody.from_bytes(raw)  # keep it readable for signature checks
    form = dict(request.query_list)
    form.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return form
