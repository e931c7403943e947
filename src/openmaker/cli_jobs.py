"""``openmaker jobs ls`` and ``openmaker logs``: watch jobs and read their logs through the API.

These commands are clients, exactly like boto3 in a user's script: they resolve the endpoint and
credentials the way ``openmaker env`` does and call ListTrainingJobs, DescribeLogStreams and
GetLogEvents, so they never open the database behind a running server's back.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

TERMINAL = ("Completed", "Failed", "Stopped")
KINDS = {
    "training": ("TrainingJob", "/aws/sagemaker/TrainingJobs"),
    "processing": ("ProcessingJob", "/aws/sagemaker/ProcessingJobs"),
}
STATUS_STYLE = {
    "Completed": "green",
    "Failed": "red",
    "Stopped": "yellow",
    "Stopping": "yellow",
    "InProgress": "cyan",
}

jobs_app = typer.Typer(help="SageMaker jobs on the running server.", no_args_is_help=True)
console = Console()

HOME = typer.Option(None, envvar="OPENMAKER_HOME", help="Data directory (default ~/.openmaker).")


def client(service: str, home: Path | None) -> Any:
    """A botocore client (a core dependency, unlike boto3) pointed where ``openmaker env`` points
    users: the same endpoint, key pair and region."""
    import botocore.session
    from botocore.config import Config

    from openmaker.cli import _settings, env_lines
    from openmaker.config import default_home

    values = {}
    for line in env_lines(_settings(home or default_home())):
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = value
    return botocore.session.get_session().create_client(
        service,
        endpoint_url=values["AWS_ENDPOINT_URL"],
        aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
        region_name=values["AWS_DEFAULT_REGION"],
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
    )


def _kinds(kind: str | None) -> list[str]:
    if kind is None:
        return list(KINDS)
    if kind not in KINDS:
        raise typer.BadParameter(f"--kind must be one of {', '.join(KINDS)}")
    return [kind]


# --- jobs ls ----------------------------------------------------------------------------------------


def _rows(sagemaker: Any, kinds: list[str], limit: int) -> list[dict[str, Any]]:
    rows = []
    for kind in kinds:
        resource = KINDS[kind][0]
        answer = getattr(sagemaker, f"list_{kind}_jobs")(MaxResults=min(limit, 100), SortBy="CreationTime")
        for summary in answer[f"{resource}Summaries"]:
            rows.append(
                {
                    "kind": kind,
                    "name": summary[f"{resource}Name"],
                    "status": summary[f"{resource}Status"],
                    "secondary": summary.get("SecondaryStatus", ""),
                    "created": summary["CreationTime"],
                    "ended": summary.get("TrainingEndTime") or summary.get("ProcessingEndTime"),
                }
            )
    rows.sort(key=lambda row: row["created"], reverse=True)
    return rows[:limit]


def _duration(row: dict[str, Any]) -> str:
    end = row["ended"] or datetime.now(UTC)
    seconds = int((end - row["created"]).total_seconds())
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="openmaker jobs", header_style="bold")
    for column in ("Kind", "Name", "Status", "Secondary status", "Created", "Duration"):
        table.add_column(column)
    for row in rows:
        style = STATUS_STYLE.get(row["status"], "")
        table.add_row(
            row["kind"],
            row["name"],
            f"[{style}]{row['status']}[/{style}]" if style else row["status"],
            row["secondary"],
            row["created"].astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            _duration(row),
        )
    return table


@jobs_app.command("ls")
def jobs_ls(
    kind: str = typer.Option(None, help="training or processing (default: both)."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Keep the table live until Ctrl-C."),
    limit: int = typer.Option(50, help="Newest jobs to show."),
    interval: float = typer.Option(2.0, help="Seconds between refreshes with --watch."),
    home: Path = HOME,
) -> None:
    """List training and processing jobs, newest first."""
    sagemaker = client("sagemaker", home)
    kinds = _kinds(kind)
    if not watch:
        console.print(_table(_rows(sagemaker, kinds, limit)))
        return
    try:
        with Live(_table(_rows(sagemaker, kinds, limit)), console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(interval)
                live.update(_table(_rows(sagemaker, kinds, limit)))
    except KeyboardInterrupt:
        pass


# --- logs -------------------------------------------------------------------------------------------


def _find_job(sagemaker: Any, job: str, kinds: list[str]) -> tuple[str, str]:
    """(kind, status) of ``job``, trying training before processing when no kind is given."""
    from botocore.exceptions import ClientError

    for kind in kinds:
        resource = KINDS[kind][0]
        try:
            answer = getattr(sagemaker, f"describe_{kind}_job")(**{f"{resource}Name": job})
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationException":
                continue
            raise
        return kind, answer[f"{resource}Status"]
    raise LookupError(job)


class LogReader:
    """Reads every stream of one job from where it left off, as ``fit(logs=True)`` does."""

    def __init__(self, logs: Any, group: str, job: str) -> None:
        self.logs = logs
        self.group = group
        self.job = job
        self.tokens: dict[str, str | None] = {}

    def streams(self) -> list[str]:
        from botocore.exceptions import ClientError

        try:
            answer = self.logs.describe_log_streams(
                logGroupName=self.group, logStreamNamePrefix=f"{self.job}/", orderBy="LogStreamName"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return []  # no log group yet: nothing has been written
            raise
        return [stream["logStreamName"] for stream in answer["logStreams"]]

    def flush(self) -> int:
        """Print every event written since the last flush; returns how many."""
        printed = 0
        streams = self.streams()
        for stream in streams:
            while True:
                kwargs: dict[str, Any] = {
                    "logGroupName": self.group,
                    "logStreamName": stream,
                    "startFromHead": True,
                }
                if self.tokens.get(stream):
                    kwargs["nextToken"] = self.tokens[stream]
                page = self.logs.get_log_events(**kwargs)
                self.tokens[stream] = page.get("nextForwardToken") or self.tokens.get(stream)
                for event in page["events"]:
                    prefix = f"[{stream.split('/', 1)[-1]}] " if len(streams) > 1 else ""
                    typer.echo(f"{prefix}{event['message']}")
                    printed += 1
                if not page["events"]:
                    break
        return printed


def logs_command(
    job: str = typer.Argument(..., help="Job name."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep reading until the job ends."),
    kind: str = typer.Option(None, help="training or processing (default: whichever has this job)."),
    interval: float = typer.Option(2.0, help="Seconds between polls with --follow."),
    home: Path = HOME,
) -> None:
    """Print a job's log events; with --follow, stream them until the job ends."""
    sagemaker = client("sagemaker", home)
    try:
        found, status = _find_job(sagemaker, job, _kinds(kind))
    except LookupError:
        typer.echo(f"no job named {job}", err=True)
        raise typer.Exit(1) from None
    reader = LogReader(client("logs", home), KINDS[found][1], job)
    while True:
        reader.flush()  # read after the status: a terminal status means every event is already written
        if not follow or status in TERMINAL:
            break
        time.sleep(interval)
        status = _find_job(sagemaker, job, [found])[1]
        if status in TERMINAL:
            reader.flush()  # the final flush
            break
    if follow:
        typer.echo(f"{job}: {status}", err=True)
