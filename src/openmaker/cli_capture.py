"""``openmaker capture``: list and export what an endpoint's data capture wrote to S3.

It reads through the running server's S3 API (the same client ``openmaker jobs`` uses), finds the
destination from DescribeEndpoint's DataCaptureConfig, and walks
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` in key order, which is time order.
``export`` prints the capture records as JSON Lines (the files' own lines), ready for
``> captured.jsonl``; ``--decode`` adds the original input/output text for quick reading.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from openmaker.cli_jobs import HOME, client

capture_app = typer.Typer(help="Data captured by endpoints (DataCaptureConfig).", no_args_is_help=True)


def _destination(home: Path | None, endpoint: str) -> tuple[str, str]:
    described = client("sagemaker", home).describe_endpoint(EndpointName=endpoint)
    uri = (described.get("DataCaptureConfig") or {}).get("DestinationS3Uri")
    if not uri:
        raise typer.BadParameter(f"endpoint {endpoint} has no DataCaptureConfig")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = f"{prefix.strip('/')}/{endpoint}/" if prefix.strip("/") else f"{endpoint}/"
    return bucket, prefix


def _keys(s3: Any, bucket: str, prefix: str, since: datetime | None, variant: str | None) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            rel = item["Key"][len(prefix) :].split("/")
            if len(rel) != 6 or (variant and rel[0] != variant):
                continue
            if since is not None:
                hour = datetime(int(rel[1]), int(rel[2]), int(rel[3]), int(rel[4]), tzinfo=UTC)
                if hour.replace(minute=59, second=59) < since:
                    continue
            keys.append(item["Key"])
    return sorted(keys, key=lambda k: k[len(prefix) :].split("/", 1)[1])


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(entry: dict[str, Any]) -> str:
    data = entry.get("data", "")
    if entry.get("encoding") == "BASE64":
        return base64.b64decode(data).decode("utf-8", "replace")
    return data


@capture_app.command("ls")
def capture_ls(
    endpoint: str = typer.Argument(..., help="Endpoint name."),
    variant: str = typer.Option(None, help="Only this production variant."),
    since: str = typer.Option(None, help="ISO time (UTC unless an offset is given)."),
    home: Path = HOME,
) -> None:
    """List the capture files of an endpoint, oldest first."""
    bucket, prefix = _destination(home, endpoint)
    for key in _keys(client("s3", home), bucket, prefix, _since(since), variant):
        typer.echo(f"s3://{bucket}/{key}")


@capture_app.command("export")
def capture_export(
    endpoint: str = typer.Argument(..., help="Endpoint name."),
    variant: str = typer.Option(None, help="Only this production variant."),
    since: str = typer.Option(
        None, help="Only records from this ISO time on (UTC unless an offset is given)."
    ),
    decode: bool = typer.Option(False, help="Add the decoded input/output text to each record."),
    home: Path = HOME,
) -> None:
    """Print every captured record as JSON Lines (e.g. ``> captured.jsonl``)."""
    s3 = client("s3", home)
    bucket, prefix = _destination(home, endpoint)
    start = _since(since)
    for key in _keys(s3, bucket, prefix, start, variant):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        for line in body.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            moment = _since(record.get("eventMetadata", {}).get("inferenceTime"))
            if start is not None and moment is not None and moment < start:
                continue
            if decode:
                data = record.get("captureData", {})
                record["decoded"] = {k: _text(v) for k, v in data.items()}
            sys.stdout.write(json.dumps(record) + "\n")
