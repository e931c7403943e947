"""Reading a tuning job's trials: the one view the API, the CLI's live table and the benchmarks share.

Everything here is read from durable records — the tuning job's and its children's (training jobs
recorded with ``parent`` = the tuning job) — so a view is true at any moment, during the run and after
a restart. ``load(jobs, name)`` gives a :class:`TuningView`; each :class:`Trial` has the tuned values,
status, objective and whether the tuner stopped it early. For a running trial the objective is the
latest value it reported (``latest_objective`` reads it from the metric store) — final values come from
the job's FinalMetricDataList once it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from openmaker.engine.tuning.definitions import TRAINING_KIND, TUNING_KIND, definitions

METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"


@dataclass
class Trial:
    """One training job a tuning job launched."""

    name: str
    arn: str
    index: int
    definition: str | None
    tuned: dict[str, str]
    status: str
    secondary_status: str | None
    failure_reason: str | None
    objective_metric: str
    objective_type: str
    objective: float | None  # the final value, once the job ended (None: not reported)
    creation_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    early_stopped: str | None = None  # why the tuner stopped it, if it did

    @property
    def objective_status(self) -> str:
        """Succeeded / Pending / Failed as ObjectiveStatus means them."""
        if self.status in ("InProgress", "Stopping"):
            return "Pending"
        return "Succeeded" if self.objective is not None and self.status != "Failed" else "Failed"

    @property
    def error_kind(self) -> str | None:
        """RetryableError (the service's fault) or NonRetryableError (the user's) for failed jobs."""
        if self.status != "Failed":
            return None
        return "RetryableError" if (self.failure_reason or "").startswith("InternalServerError") else "NonRetryableError"


@dataclass
class TuningView:
    record: Any  # the tuning job's JobRecord
    trials: list[Trial] = field(default_factory=list)

    @property
    def maximize(self) -> bool:
        return _objective(self.record.spec)[0] == "Maximize"

    def best(self) -> Trial | None:
        """The trial with the best final objective (the earliest among equals)."""
        scored = [t for t in self.trials if t.objective_status == "Succeeded"]
        if not scored:
            return None
        sign = -1.0 if self.maximize else 1.0
        return min(scored, key=lambda t: (sign * float(t.objective), t.index))  # type: ignore[arg-type]

    def status_counters(self) -> dict[str, int]:
        counters = dict.fromkeys(("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0)
        for trial in self.trials:
            if trial.status in ("InProgress", "Stopping"):
                counters["InProgress"] += 1
            elif trial.status == "Failed":
                counters[trial.error_kind or "NonRetryableError"] += 1
            elif trial.status in counters:
                counters[trial.status] += 1
        return counters

    def objective_counters(self) -> dict[str, int]:
        counters = dict.fromkeys(("Succeeded", "Pending", "Failed"), 0)
        for trial in self.trials:
            counters[trial.objective_status] += 1
        return counters


def _objective(spec: dict[str, Any]) -> tuple[str, str]:
    """(Type, MetricName) of the tuning job (multi-algorithm: the first definition's Type)."""
    defs = definitions(spec)
    objective = defs[0].objective if defs else {}
    return objective.get("Type", "Maximize"), objective.get("MetricName", "")


def load(jobs: Any, name: str) -> TuningView | None:
    """The tuning job ``name`` and its trials in launch order, or None if there is no such job."""
    record = jobs.get(TUNING_KIND, name)
    if record is None:
        return None
    return TuningView(record, trials_of(jobs, record))


def trials_of(jobs: Any, record: Any) -> list[Trial]:
    objectives = {d.key: d.objective for d in definitions(record.spec)}
    kind, _ = _objective(record.spec)
    stopped_early = (record.state or {}).get("EarlyStopped") or {}
    trials = []
    for child in jobs.list(TRAINING_KIND, parent=record.name, sort_by="CreationTime", descending=False):
        info = child.spec.get("TuningTrial") or {}
        definition = info.get("DefinitionName")
        objective = objectives.get(definition or "", {})
        metric = objective.get("MetricName", "")
        final = {m.get("MetricName"): m.get("Value") for m in child.state.get("FinalMetricDataList") or []}
        value = final.get(metric) if child.terminal else None
        trials.append(
            Trial(
                name=child.name,
                arn=child.arn,
                index=int(info.get("Index") or 0),
                definition=definition,
                tuned=dict(info.get("TunedHyperParameters") or {}),
                status=child.status,
                secondary_status=child.secondary_status,
                failure_reason=child.failure_reason,
                objective_metric=metric,
                objective_type=objective.get("Type", kind),
                objective=float(value) if value is not None else None,
                creation_time=child.creation_time,
                start_time=child.start_time,
                end_time=child.end_time,
                early_stopped=stopped_early.get(child.name),
            )
        )
    trials.sort(key=lambda t: (t.index, t.creation_time))
    return trials


def latest_objective(metrics: Any, trial: Trial) -> float | None:
    """The last objective value a trial reported so far (running trials: live; ended: final)."""
    if trial.objective is not None:
        return trial.objective
    start = (trial.start_time or trial.creation_time) - timedelta(minutes=1)
    points = metrics.query(
        METRICS_NAMESPACE,
        trial.objective_metric,
        {"TrainingJobName": trial.name},
        start,
        datetime.now(UTC) + timedelta(minutes=1),
    )
    return points[-1].value if points else None
