"""ParameterRanges → the optimizer's search space, and optimizer values → hyperparameter strings.

SageMaker gives ranges as strings with a ScalingType. Each becomes one Optuna distribution:
Linear (and Auto, which openmaker resolves to Linear) is uniform, Logarithmic is ``log=True``, and
ReverseLogarithmic — dense near 1, for values like momentum in [0, 1) — is searched as ``1 - x`` on a
log scale, so the optimizer's internal value differs from the hyperparameter's. Parsing also checks
what the service checks, raising :class:`RangeError` with a message worded for the user.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

Kind = Literal["Continuous", "Integer", "Categorical"]
RANGE_KEYS: dict[str, Kind] = {
    "ContinuousParameterRanges": "Continuous",
    "IntegerParameterRanges": "Integer",
    "CategoricalParameterRanges": "Categorical",
}
MAX_TUNED = 30


class RangeError(ValueError):
    """A range the service would refuse; the message is the ValidationException's."""


@dataclass(frozen=True)
class Param:
    """One tuned hyperparameter."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    values: tuple[str, ...] = ()
    scaling: str = "Linear"

    @property
    def reverse(self) -> bool:
        return self.scaling == "ReverseLogarithmic"

    def distribution(self) -> BaseDistribution:
        if self.kind == "Categorical":
            return CategoricalDistribution(self.values)
        if self.kind == "Integer":
            return IntDistribution(int(self.low), int(self.high), log=self.scaling == "Logarithmic")
        if self.reverse:
            return FloatDistribution(1.0 - self.high, 1.0 - self.low, log=True)
        return FloatDistribution(self.low, self.high, log=self.scaling == "Logarithmic")

    def suggest(self, trial: Any, name: str) -> Any:
        """Ask an Optuna trial for this parameter's internal value."""
        dist = self.distribution()
        if isinstance(dist, CategoricalDistribution):
            return trial.suggest_categorical(name, dist.choices)
        if isinstance(dist, IntDistribution):
            return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        assert isinstance(dist, FloatDistribution)
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log)

    def text(self, internal: Any) -> str:
        """The hyperparameter string for the optimizer's value."""
        if self.kind == "Categorical":
            return str(internal)
        if self.kind == "Integer":
            return str(int(internal))
        value = 1.0 - float(internal) if self.reverse else float(internal)
        return repr(min(max(value, self.low), self.high))

    def internal(self, text: str) -> Any | None:
        """The optimizer's value for a hyperparameter string (a parent's or an earlier child's), or
        None when it does not fit this range any more."""
        try:
            if self.kind == "Categorical":
                return text if text in self.values else None
            if self.kind == "Integer":
                value = int(float(text))
                return value if self.low <= value <= self.high else None
            value = float(text)
        except (TypeError, ValueError):
            return None
        if not self.low <= value <= self.high:
            return None
        if self.reverse:
            return min(max(1.0 - value, 1.0 - self.high), 1.0 - self.low)
        return value

    @property
    def count(self) -> int | None:
        """How many distinct values the range has (None: continuous)."""
        if self.kind == "Categorical":
            return len(self.values)
        if self.kind == "Integer":
            return int(self.high) - int(self.low) + 1
        return None


def parse_ranges(ranges: dict[str, Any] | None) -> list[Param]:
    """The ranges of one training job definition, checked as the service checks them."""
    ranges = ranges or {}
    if ranges.get("AutoParameters"):
        raise RangeError(
            "AutoParameters need Autotune, which openmaker does not provide; give explicit "
            "IntegerParameterRanges, ContinuousParameterRanges or CategoricalParameterRanges."
        )
    params: list[Param] = []
    seen: set[str] = set()
    for key, kind in RANGE_KEYS.items():
        for item in ranges.get(key) or []:
            name = item.get("Name") or ""
            if not name:
                raise RangeError(f"Every range in {key} must have a Name.")
            if name in seen:
                raise RangeError(
                    f"The hyperparameter '{name}' is specified in more than one parameter range. "
                    "Specify each tunable hyperparameter once."
                )
            seen.add(name)
            params.append(_parse(item, kind))
    if len(params) > MAX_TUNED:
        raise RangeError(
            f"The tuning job has {len(params)} tunable hyperparameters; the limit is {MAX_TUNED}."
        )
    return params


def _parse(item: dict[str, Any], kind: Kind) -> Param:
    name = item["Name"]
    if kind == "Categorical":
        values = tuple(str(v) for v in item.get("Values") or ())
        if not values:
            raise RangeError(
                f"The categorical hyperparameter '{name}' has no values. Specify at least one value."
            )
        if len(set(values)) != len(values):
            raise RangeError(f"The categorical hyperparameter '{name}' lists a value more than once.")
        return Param(name, kind, values=values)
    scaling = item.get("ScalingType") or "Auto"
    low, high = (_number(name, item.get(end), end, kind) for end in ("MinValue", "MaxValue"))
    if low > high:
        raise RangeError(
            f"The MinValue ({item['MinValue']}) of the hyperparameter '{name}' is greater than its "
            f"MaxValue ({item['MaxValue']}). MinValue must be less than or equal to MaxValue."
        )
    if scaling == "Logarithmic" and low <= 0:
        raise RangeError(
            f"The hyperparameter '{name}' uses Logarithmic scaling, which works only for ranges that "
            f"have only values greater than 0 (MinValue is {item['MinValue']})."
        )
    if scaling == "ReverseLogarithmic":
        if kind == "Integer":
            raise RangeError(
                f"The integer hyperparameter '{name}' cannot use ReverseLogarithmic scaling; "
                "use Auto, Linear or Logarithmic."
            )
        if not (low >= 0 and high < 1):
            raise RangeError(
                f"The hyperparameter '{name}' uses ReverseLogarithmic scaling, which works only for "
                "ranges that are entirely within the range 0<=x<1.0."
            )
        if low == high:
            scaling = "Linear"
    return Param(name, kind, low=low, high=high, scaling="Linear" if scaling == "Auto" else scaling)


def _number(name: str, text: Any, end: str, kind: Kind) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or (kind == "Integer" and not value.is_integer()):
        what = "an integer" if kind == "Integer" else "a number"
        raise RangeError(f"The {end} '{text}' of the hyperparameter '{name}' is not {what}.")
    return int(value) if kind == "Integer" else value


def combinations(params: list[Param]) -> int | None:
    """How many distinct settings the ranges allow (None when a range is continuous)."""
    total = 1
    for param in params:
        count = param.count
        if count is None:
            return None
        total *= count
    return total


def grid(params: list[Param]) -> list[dict[str, str]]:
    """Every combination of categorical values, in the order the ranges were given."""
    names = [param.name for param in params]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(p.values for p in params))]
