"""One tuning job, run by one thread: ask the search for hyperparameters, launch ordinary training jobs
(never more than MaxParallelTrainingJobs at once, MaxNumberOfTrainingJobs in all), listen to the
objective values they report (early stopping) and to their ends (tell the search), and end the tuning
job when its limits or completion criteria say so.

The thread sleeps on a condition until a child reports a metric or ends (events from the engine), the
user stops the tuning job, or MaxRuntimeInSeconds passes — it never polls. Everything it decides goes
to the JobStore first (children are records with ``parent`` = this job; early stops are listed in the
tuning job's ``state.EarlyStopped``), so the listings and a restarted server see the truth.

How the service's rules are followed:
- every launched job counts toward MaxNumberOfTrainingJobs, failed ones included;
- if the first five jobs to end all fail (or all of a smaller budget), the tuning job fails with the
  service's "No training job succeeded after N attempts" reason and stops the rest;
- early-stopped jobs (Auto median rule, Hyperband) end ``Stopped``; the objective they reported counts;
- StopHyperParameterTuningJob stops every running child and ends ``Stopped`` once they have ended;
- MaxRuntimeInSeconds stops the running children and ends ``Completed`` with what was found;
- TargetObjectiveMetricValue and BestObjectiveNotImproving stop launching; running jobs finish.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openmaker.engine.events import EndEvent, Event, MetricEvent
from openmaker.engine.tuning.definitions import (
    TRAINING_KIND,
    TUNING_KIND,
    Definition,
    child_name,
    child_request,
    definitions,
    training_arn,
)
from openmaker.engine.tuning.search import GridSearch, Suggestion, make_search
from openmaker.engine.tuning.space import combinations, parse_ranges
from openmaker.engine.tuning.stopping import MedianRule
from openmaker.engine.tuning.trials import load, trials_of

log = logging.getLogger("openmaker.engine")

FAIL_AFTER = 5
NO_SUCCESS = (
    "No training job succeeded after {n} attempts. Please take a look at the training job failures to get "
    "more details."
)
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")
IMPROVEMENT = 0.01  # BestObjectiveNotImproving: better by more than 1% counts as an improvement


@dataclass
class Active:
    """A child that has not ended yet."""

    suggestion: Suggestion
    definition: Definition
    values: list[float] = field(default_factory=list)  # its objective per epoch/round so far
    stopping: bool = False


def max_resource(config: dict[str, Any], defs: list[Definition]) -> int | None:
    """Hyperband's MaxResource: given, or inferred from an epochs hyperparameter as the service does."""
    given = ((config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}).get("MaxResource")
    if given:
        return int(given)
    for definition in defs:
        for key in EPOCH_KEYS:
            try:
                return int(float(definition.static[key]))
            except (KeyError, ValueError):
                continue
    return None


def max_jobs(config: dict[str, Any], defs: list[Definition]) -> int:
    """MaxNumberOfTrainingJobs; for Grid without one, the number of combinations."""
    given = (config.get("ResourceLimits") or {}).get("MaxNumberOfTrainingJobs")
    if given:
        return int(given)
    return sum(combinations(parse_ranges(d.ranges)) or 0 for d in defs)


class TuningRun:
    def __init__(self, engine: Any, record: Any, resume: bool, on_exit: Callable[[str], None]) -> None:
        self.engine = engine
        self.jobs = engine.state.jobs
        self.settings = engine.state.settings
        self.record = record
        self.name: str = record.name
        self.resume = resume
        self.on_exit = on_exit
        config = record.spec["HyperParameterTuningJobConfig"]
        self.config = config
        self.defs = {d.key: d for d in definitions(record.spec)}
        first = next(iter(self.defs.values()))
        self.maximize = first.objective.get("Type", "Maximize") == "Maximize"
        limits = config.get("ResourceLimits") or {}
        self.max_parallel = int(limits.get("MaxParallelTrainingJobs") or 1)
        self.max_jobs = max_jobs(config, list(self.defs.values()))
        seconds = limits.get("MaxRuntimeInSeconds")
        self.deadline = record.creation_time.timestamp() + seconds if seconds else None
        self.strategy = config.get("Strategy") or "Bayesian"
        hyperband = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        self.max_resource = max_resource(config, list(self.defs.values()))
        resources = (int(hyperband.get("MinResource") or 1), self.max_resource or 1)
        self.search = make_search(
            self.strategy,
            {key: parse_ranges(d.ranges) for key, d in self.defs.items()},
            self.maximize,
            config.get("RandomSeed"),
            self.max_jobs,
            resources,
        )
        self.median = MedianRule(self.maximize) if config.get("TrainingJobEarlyStoppingType") == "Auto" else None
        criteria = config.get("TuningJobCompletionCriteria") or {}
        self.target = criteria.get("TargetObjectiveMetricValue")
        self.not_improving_limit = (criteria.get("BestObjectiveNotImproving") or {}).get(
            "MaxNumberOfTrainingJobsNotImproving"
        )
        self.tags = self.jobs.list_tags(record.arn)

        self.active: dict[str, Active] = {}
        self.early_stopped: dict[str, str] = dict((record.state or {}).get("EarlyStopped") or {})
        self.launched = 0
        self.succeeded = 0
        self.failed = 0
        self.best: float | None = None
        self.not_improving = 0
        self.exhausted = False
        self.closing: str | None = None  # the final status once decided: Completed, Stopped, Failed
        self.failure: str | None = None
        self._events: deque[Event] = deque()
        self._cond = threading.Condition()
        self._stop = False
        self._quit = False
        self._thread = threading.Thread(target=self._main, name=f"tuning-{self.name}", daemon=True)

    # --- what the manager calls (any thread) -----------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def quit(self) -> None:
        """Server shutdown: leave without recording an end (the next start resumes the job)."""
        with self._cond:
            self._quit = True
            self._cond.notify()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _listen(self, event: Event) -> None:
        with self._cond:
            self._events.append(event)
            self._cond.notify()

    # --- the thread ------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            if self._run():
                self._finish()
        except Exception as exc:
            log.exception("tuning job %s failed inside openmaker", self.name)
            self.closing, self.failure = "Failed", f"InternalServerError: openmaker could not run the tuning job: {exc}"
            try:
                self._stop_children()
                self._finish()
            except Exception:
                log.exception("could not record the end of tuning job %s", self.name)
        finally:
            for name in list(self.active):
                self.engine.events.unwatch(TRAINING_KIND, name)
            self.on_exit(self.name)

    def _run(self) -> bool:
        """Run to the end; False when the server is shutting down (nothing is recorded then)."""
        self._prepare()
        while True:
            self._launch()
            if not self.active and (self.closing is not None or self.exhausted):
                return True
            events = self._wait()
            if events is None:
                return False
            for event in events:
                if isinstance(event, MetricEvent):
                    self._on_metric(event)
                elif isinstance(event, EndEvent):
                    self._on_end(event.name)

    def _wait(self) -> list[Event] | None:
        with self._cond:
            while not self._events and not self._quit and not (self._stop and self.closing != "Stopped"):
                remaining = None
                if self.deadline is not None and self.closing is None:
                    remaining = self.deadline - datetime.now(UTC).timestamp()
                    if remaining <= 0:
                        break
                self._cond.wait(remaining)
            if self._quit:
                return None
            events = list(self._events)
            self._events.clear()
            stop = self._stop
        if stop and self.closing != "Stopped":
            self._close("Stopped", stop_children=True)
        elif self.deadline is not None and self.closing is None and datetime.now(UTC).timestamp() >= self.deadline:
            self._close("Completed", stop_children=True)
        return events

    # --- start: warm start and resuming ------------------------------------------------------------

    def _prepare(self) -> None:
        warm = self.record.spec.get("WarmStartConfig") or {}
        for parent in warm.get("ParentHyperParameterTuningJobs") or []:
            view = load(self.jobs, parent.get("HyperParameterTuningJobName") or "")
            if view is None:
                continue
            statics = {d.key: d.static for d in definitions(view.record.spec)}
            for trial in view.trials:
                if trial.objective_status == "Succeeded" and trial.objective is not None:
                    values = {**statics.get(trial.definition or "", {}), **trial.tuned}
                    self.search.add_finished("", values, trial.objective)
        if self.resume:
            self._adopt_children()

    def _adopt_children(self) -> None:
        """After a restart: learn from the children that ended, watch the ones still queued."""
        for trial in trials_of(self.jobs, self.record):
            self.launched = max(self.launched, trial.index)
            key = trial.definition or ""
            if isinstance(self.search, GridSearch):
                self.search.tried(key, trial.tuned)
            if trial.status not in ("InProgress", "Stopping"):
                self._count(trial.objective if trial.objective_status == "Succeeded" else None)
                if trial.objective_status == "Succeeded" and trial.objective is not None:
                    self.search.add_finished(key, trial.tuned, trial.objective)
                continue
            definition = self.defs.get(key)
            if definition is None:
                continue
            self.active[trial.name] = Active(Suggestion(key, trial.tuned), definition)
            self.engine.events.watch(TRAINING_KIND, trial.name, self._listen)
            record = self.jobs.get(TRAINING_KIND, trial.name)
            if record is None or record.terminal:  # it ended before the watch was in place
                self._listen(EndEvent(TRAINING_KIND, trial.name))

    # --- launching ---------------------------------------------------------------------------------

    def _launch(self) -> None:
        while self.closing is None and not self.exhausted and len(self.active) < self.max_parallel:
            if self.launched >= self.max_jobs:
                self.exhausted = True
                return
            suggestion = self.search.ask()
            if suggestion is None:
                self.exhausted = True
                return
            self.launched += 1
            name = child_name(self.name, self.launched)
            definition = self.defs[suggestion.definition]
            request = child_request(definition, name, suggestion.tuned, self.record.arn, self.launched)
            self.active[name] = Active(suggestion, definition)
            self.engine.events.watch(TRAINING_KIND, name, self._listen)
            arn = training_arn(self.settings.region, self.settings.account_id, name)
            self.jobs.create(
                TRAINING_KIND,
                name,
                arn,
                request,
                message="Preparing the instances for training",
                parent=self.name,
                tags=self.tags,
            )
            self.engine.submit(TRAINING_KIND, name)

    # --- what the children tell ----------------------------------------------------------------------

    def _on_metric(self, event: MetricEvent) -> None:
        child = self.active.get(event.name)
        if child is None or event.metric != child.definition.metric or not math.isfinite(event.value):
            return
        child.values.append(event.value)
        if child.stopping:
            return
        epoch = len(child.values)
        if self.search.report(child.suggestion, epoch, event.value):
            self._stop_child(event.name, f"Hyperband stopped it after {epoch} epochs (objective {event.value:g})")
        elif self.strategy == "Hyperband" and self.max_resource and epoch > self.max_resource:
            self._stop_child(event.name, f"it reached MaxResource ({self.max_resource} epochs)")
        elif self.median is not None and self.median.should_stop(child.values):
            self._stop_child(
                event.name,
                f"its objective after {epoch} epochs ({event.value:g}) was worse than the median of the "
                "earlier training jobs' running averages",
            )

    def _on_end(self, name: str) -> None:
        child = self.active.pop(name, None)
        if child is None:
            return
        self.engine.events.unwatch(TRAINING_KIND, name)
        record = self.jobs.get(TRAINING_KIND, name)
        value = None
        if record is not None and record.status != "Failed":
            final = {m.get("MetricName"): m.get("Value") for m in record.state.get("FinalMetricDataList") or []}
            found = final.get(child.definition.metric)
            value = float(found) if found is not None else None
        self.search.tell(child.suggestion, value)
        if self.median is not None:
            self.median.add_finished(child.values)
        self._count(value)
        if self.succeeded == 0 and self.failed >= FAIL_AFTER and self.closing is None:
            self._close("Failed", stop_children=True, failure=NO_SUCCESS.format(n=self.failed))
        if value is not None and self.closing is None and self._criteria_met(value):
            self._close("Completed", stop_children=False)

    def _count(self, value: float | None) -> None:
        if value is None:
            self.failed += 1
            return
        self.succeeded += 1
        if self.best is None or self._better_by(value, self.best, IMPROVEMENT):
            self.not_improving = 0
        else:
            self.not_improving += 1
        if self.best is None or self._better_by(value, self.best, 0.0):
            self.best = value

    def _better_by(self, value: float, best: float, margin: float) -> bool:
        slack = abs(best) * margin
        return value > best + slack if self.maximize else value < best - slack

    def _criteria_met(self, value: float) -> bool:
        if self.target is not None and (value >= self.target if self.maximize else value <= self.target):
            return True
        return bool(self.not_improving_limit) and self.not_improving >= int(self.not_improving_limit)

    # --- stopping and ending -------------------------------------------------------------------------

    def _close(self, status: str, stop_children: bool, failure: str | None = None) -> None:
        self.closing, self.failure = status, failure
        if stop_children:
            self._stop_children()

    def _stop_children(self) -> None:
        for name in list(self.active):
            self._stop_child(name, None)

    def _stop_child(self, name: str, early: str | None) -> None:
        child = self.active.get(name)
        if child is None or child.stopping:
            return
        child.stopping = True
        if early is not None:
            self.early_stopped[name] = f"Stopped early by hyperparameter tuning job {self.name}: {early}."
            self.jobs.update(TUNING_KIND, self.name, state={"EarlyStopped": dict(self.early_stopped)})
        record = self.jobs.get(TRAINING_KIND, name)
        if record is None or record.terminal:
            return
        self.jobs.request_stop(TRAINING_KIND, name)
        self.engine.stop(TRAINING_KIND, name)

    def _finish(self) -> None:
        status = self.closing or "Completed"
        failure = self.failure
        if status == "Completed" and self.succeeded == 0 and self.failed > 0:
            status, failure = "Failed", NO_SUCCESS.format(n=self.failed)
        now = datetime.now(UTC)
        state: dict[str, Any] = {
            "ConsumedResources": {"RuntimeInSeconds": max(0, int(now.timestamp() - self.record.creation_time.timestamp()))},
            "TuningJobCompletionDetails": {"NumberOfTrainingJobsObjectiveNotImproving": self.not_improving},
        }
        self.jobs.update(
            TUNING_KIND,
            self.name,
            status=status,
            failure_reason=failure,
            end_time=now,
            state=state,
            only_if_active=True,
        )
