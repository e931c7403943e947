"""The search strategies: which hyperparameters the next training job gets.

- Bayesian: Optuna's TPE sampler (multivariate, with the "constant liar" so parallel trials do not
  all chase the same point), after a few random start-up trials;
- Random: Optuna's random sampler;
- Hyperband: TPE proposals with Optuna's Hyperband pruner deciding, from the objective values a job
  reports per epoch/round (its "resource"), which jobs to stop early;
- Grid: every combination of the categorical ranges, in order.

Multi-algorithm tuning adds one categorical choice, the definition, and namespaces each definition's
parameters under it, so the samplers see one conditional search space. Warm start and resuming after a
restart feed finished trials in with :meth:`Search.add_finished`. A search is used from one thread only
(the tuning job's).
"""

from __future__ import annotations

import logging
import random
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from openmaker.engine.tuning.space import Param, grid

log = logging.getLogger("openmaker.engine")
DEFINITION = "__definition__"
optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class Suggestion:
    """What to train next: a definition ("" for a single one) and the tuned hyperparameter strings."""

    definition: str
    tuned: dict[str, str]
    trial: Any = None  # the optimizer's handle (an Optuna trial), None for grid or resumed jobs
    pruned: bool = field(default=False)


class Search:
    """Optuna-backed search (Bayesian, Random, Hyperband)."""

    def __init__(
        self,
        spaces: dict[str, list[Param]],
        maximize: bool,
        strategy: str,
        seed: int | None,
        max_jobs: int,
        resources: tuple[int, int] | None = None,
    ) -> None:
        self.spaces = spaces
        self.multi = len(spaces) > 1
        seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if strategy == "Random":
                sampler: optuna.samplers.BaseSampler = optuna.samplers.RandomSampler(seed=seed)
            else:
                sampler = optuna.samplers.TPESampler(
                    seed=seed,
                    n_startup_trials=max(3, min(10, max_jobs // 4)),
                    multivariate=True,
                    group=self.multi,
                    constant_liar=True,
                )
            pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
            if resources is not None:
                pruner = optuna.pruners.HyperbandPruner(
                    min_resource=resources[0], max_resource=resources[1], reduction_factor=3
                )
            self.study = optuna.create_study(
                direction="maximize" if maximize else "minimize", sampler=sampler, pruner=pruner
            )

    # --- asking and telling ----------------------------------------------------------------------

    def ask(self) -> Suggestion | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            trial = self.study.ask()
            key = trial.suggest_categorical(DEFINITION, sorted(self.spaces)) if self.multi else next(iter(self.spaces))
            tuned = {}
            for param in self.spaces[key]:
                value = param.suggest(trial, self._internal_name(key, param))
                tuned[param.name] = param.text(value)
        return Suggestion(key, tuned, trial)

    def report(self, suggestion: Suggestion, step: int, value: float) -> bool:
        """Record the objective at ``step`` (1-based epoch/round); True when the pruner stops it."""
        if suggestion.trial is None or suggestion.pruned:
            return False
        suggestion.trial.report(value, step)
        if suggestion.trial.should_prune():
            suggestion.pruned = True
        return suggestion.pruned

    def tell(self, suggestion: Suggestion, value: float | None) -> None:
        """The job ended: its final objective, or None when it failed or reported none."""
        if suggestion.trial is None:
            if value is not None:
                self.add_finished(suggestion.definition, suggestion.tuned, value)
            return
        if suggestion.pruned:
            self.study.tell(suggestion.trial, state=TrialState.PRUNED)
        elif value is None:
            self.study.tell(suggestion.trial, state=TrialState.FAIL)
        else:
            self.study.tell(suggestion.trial, value)

    def add_finished(self, definition: str, hyperparameters: dict[str, str], value: float) -> bool:
        """Teach the optimizer a result it did not ask for (a parent's job, or one from before a
        restart). ``hyperparameters`` may hold static values too: a parameter static there and tuned
        here is taken from them. False when the values do not fit the current ranges."""
        space = self.spaces.get(definition)
        if space is None:
            return False
        params: dict[str, Any] = {}
        distributions: dict[str, Any] = {}
        if self.multi:
            params[DEFINITION] = definition
            distributions[DEFINITION] = optuna.distributions.CategoricalDistribution(sorted(self.spaces))
        for param in space:
            internal = param.internal(hyperparameters.get(param.name, ""))
            if internal is None:
                return False
            name = self._internal_name(definition, param)
            params[name] = internal
            distributions[name] = param.distribution()
        self.study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=value))
        return True

    def _internal_name(self, definition: str, param: Param) -> str:
        return f"{definition}/{param.name}" if self.multi else param.name


class GridSearch:
    """Grid: the combinations of every definition's categorical values, each tried once."""

    def __init__(self, spaces: dict[str, list[Param]]) -> None:
        self.pending: list[tuple[str, dict[str, str]]] = [
            (key, combo) for key in sorted(spaces) for combo in grid(spaces[key])
        ]

    def ask(self) -> Suggestion | None:
        if not self.pending:
            return None
        key, tuned = self.pending.pop(0)
        return Suggestion(key, tuned)

    def report(self, suggestion: Suggestion, step: int, value: float) -> bool:
        return False

    def tell(self, suggestion: Suggestion, value: float | None) -> None:
        return None

    def add_finished(self, definition: str, hyperparameters: dict[str, str], value: float) -> bool:
        return self.tried(definition, hyperparameters)

    def tried(self, definition: str, hyperparameters: dict[str, str]) -> bool:
        """Take a combination already run (before a restart) off the list."""
        for item in self.pending:
            key, combo = item
            if key == definition and all(hyperparameters.get(k) == v for k, v in combo.items()):
                self.pending.remove(item)
                return True
        return False


def make_search(
    strategy: str,
    spaces: dict[str, list[Param]],
    maximize: bool,
    seed: int | None,
    max_jobs: int,
    resources: tuple[int, int] | None,
) -> Search | GridSearch:
    if strategy == "Grid":
        return GridSearch(spaces)
    return Search(spaces, maximize, strategy, seed, max_jobs, resources if strategy == "Hyperband" else None)
