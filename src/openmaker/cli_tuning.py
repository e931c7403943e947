"""``openmaker tuning ls`` and ``openmaker tuning show NAME [--watch]``: tuning jobs as tables.

Like ``openmaker jobs``, these are API clients (DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob), so they show exactly what the SDK's ``analytics()`` sees:
one row a trial with its tuned hyperparameters, objective value and status, the best one marked, and
the counters of the tuning job above the table. ``--watch`` keeps the table live until the tuning job
ends (or Ctrl-C).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from openmaker.cli_jobs import HOME, STATUS_STYLE, TERMINAL, client

tuning_app = typer.Typer(help="Hyperparameter tuning jobs on the running server.", no_args_is_help=True)
console = Console()
PAGE = 100


def _styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return ""
    seconds = int(((end or datetime.now(UTC)) - start).total_seconds())
    return f"{seconds // 60}:{seconds % 60:02d}"


def trials(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    """Every training job of the tuning job, oldest first (all pages)."""
    summaries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"HyperParameterTuningJobName": name, "MaxResults": PAGE, "SortBy": "CreationTime",
                              "SortOrder": "Ascending"}
    while True:
        page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(**kwargs)
        summaries += page["TrainingJobSummaries"]
        if not page.get("NextToken"):
            return summaries
        kwargs["NextToken"] = page["NextToken"]


def _objective_text(summary: dict[str, Any]) -> str:
    metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
    return f"{metric['Value']:.6g}" if metric else ""


def _value(text: str) -> str:
    """A tuned value as it reads best in a column: numbers to 4 significant digits."""
    try:
        number = float(text)
    except ValueError:
        return text
    return text if number.is_integer() and "." not in text else f"{number:.4g}"


def render(description: dict[str, Any], summaries: list[dict[str, Any]]) -> Group:
    """The header (status, strategy, objective, counters) and the trials table."""
    config = description["HyperParameterTuningJobConfig"]
    objective = config.get("HyperParameterTuningJobObjective") or {}
    counters = description.get("TrainingJobStatusCounters") or {}
    best = (description.get("BestTrainingJob") or {}).get("TrainingJobName")
    header = Text.from_markup(
        f"[bold]{description['HyperParameterTuningJobName']}[/bold]  "
        f"{_styled(description['HyperParameterTuningJobStatus'])}  strategy {config.get('Strategy')}  "
        f"{objective.get('Type', '')} {objective.get('MetricName', '')}\n"
        + "  ".join(f"{key} {value}" for key, value in counters.items())
    )
    names = sorted({key for summary in summaries for key in summary.get("TunedHyperParameters", {})})
    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Training job", no_wrap=True)
    table.add_column("Status")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column(objective.get("MetricName") or "objective", justify="right")
    table.add_column("Time", justify="right", no_wrap=True)
    prefix = description["HyperParameterTuningJobName"] + "-"
    for index, summary in enumerate(summaries, start=1):
        tuned = summary.get("TunedHyperParameters", {})
        mark = " *" if summary["TrainingJobName"] == best else ""
        table.add_row(
            str(index), "…" + summary["TrainingJobName"].removeprefix(prefix) + mark,
            _styled(summary["TrainingJobStatus"]), *(_value(tuned.get(name, "")) for name in names),
            _objective_text(summary),
            _duration(summary.get("TrainingStartTime"), summary.get("TrainingEndTime")),
            style="bold" if mark else None,
        )
    parts: list[Any] = [header, table]
    if best:
        chosen = description["BestTrainingJob"]
        parts.append(Text.from_markup(f"best: [bold]{best}[/bold] {objective.get('MetricName', '')} = "
                                      f"{_objective_text(chosen)}"))
    return Group(*parts)


@tuning_app.command("show")
def tuning_show(
    name: str = typer.Argument(..., help="The tuning job's name."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Keep the table live until the job ends."),
    interval: float = typer.Option(2.0, help="Seconds between refreshes with --watch."),
    home: Path = HOME,
) -> None:
    """A tuning job's trials: hyperparameters, objective, status, and the best so far."""
    from botocore.exceptions import ClientError

    sagemaker = client("sagemaker", home)

    def snapshot() -> tuple[dict[str, Any], Group]:
        description = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        return description, render(description, trials(sagemaker, name))

    try:
        description, view = snapshot()
    except ClientError as error:
        console.print(f"[red]{error.response['Error'].get('Message', error)}[/red]")
        raise typer.Exit(1) from None
    if not watch or description["HyperParameterTuningJobStatus"] in TERMINAL:
        console.print(view)
        return
    try:
        with Live(view, console=console, refresh_per_second=4) as live:
            while description["HyperParameterTuningJobStatus"] not in TERMINAL:
                time.sleep(interval)
                description, view = snapshot()
                live.update(view)
    except KeyboardInterrupt:
        pass


@tuning_app.command("ls")
def tuning_ls(limit: int = typer.Option(50, help="Newest tuning jobs to show."), home: Path = HOME) -> None:
    """Tuning jobs, newest first, with their counters."""
    sagemaker = client("sagemaker", home)
    answer = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=min(limit, 100), SortBy="CreationTime",
                                                        SortOrder="Descending")
    table = Table(title="openmaker tuning jobs", header_style="bold")
    for column in ("Name", "Status", "Strategy", "Completed", "In progress", "Stopped", "Failed", "Created"):
        table.add_column(column)
    for summary in answer["HyperParameterTuningJobSummaries"]:
        counters = summary.get("TrainingJobStatusCounters") or {}
        failed = counters.get("RetryableError", 0) + counters.get("NonRetryableError", 0)
        table.add_row(summary["HyperParameterTuningJobName"], _styled(summary["HyperParameterTuningJobStatus"]),
                      summary.get("Strategy", ""), str(counters.get("Completed", 0)),
                      str(counters.get("InProgress", 0)), str(counters.get("Stopped", 0)), str(failed),
                      summary["CreationTime"].astimezone().strftime("%Y-%m-%d %H:%M:%S"))
    console.print(table)
