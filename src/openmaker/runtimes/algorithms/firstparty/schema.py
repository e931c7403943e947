"""Hyperparameter wording and types of the first-party algorithms.

Their containers validate hyperparameters with a JSON schema, so FailureReason reads
``Unable to initialize the algorithm. Failed to validate input hyperparameters. (caused by
ValidationError)`` followed by the schema's own sentence (``'feature_dim' is a required property``,
``Additional properties are not allowed ('foo' was unexpected)``). The sentence always names the
hyperparameter, which is what a user needs to fix it.
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.hyperparameters import FreeText, Hyperparameter, Interval, Messages

PREFIX = ("Unable to initialize the algorithm. Failed to validate input hyperparameters. "
          "(caused by ValidationError)\n\nCaused by: ")

MESSAGES = Messages(
    missing=PREFIX + "'{name}' is a required property",
    extraneous=PREFIX + "Additional properties are not allowed ('{name}' was unexpected)",
    unparsable=PREFIX + "The value of '{name}' is not valid for its type",
    out_of_range=PREFIX + "{value!r} is not valid for '{name}': expected a value in {range}",
    list_out_of_range=PREFIX + "{value!r} is not valid for '{name}': expected values in {range}",
)

# The containers' own settings (the platform and the tuning service pass them): accepted and ignored.
PRIVATE = ("_kvstore", "_num_kv_servers", "_num_gpus", "_log_level", "_enable_profiler")


def private_settings() -> list[Hyperparameter]:
    """The container-private ``_``-prefixed settings, as schema entries that take any value."""
    return [FreeText(name) for name in PRIVATE]


POSITIVE = Interval(min_closed=1)
NON_NEGATIVE = Interval(min_closed=0)


class Boolean(Hyperparameter):
    """``"true"``/``"false"`` (any case), as the SDK sends Python booleans."""

    def parse(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(f"not a boolean: {value!r}")


class IntegerOrAuto(Hyperparameter):
    """An integer, or ``"auto"`` (Linear Learner's feature_dim, num_models…)."""

    def parse(self, value: Any) -> int | str:
        text = str(value).strip()
        if text.lower() == "auto":
            return "auto"
        return int(text)

    def in_range(self, value: Any) -> bool:
        return value == "auto" or self.range is None or value in self.range


class ContinuousOrAuto(Hyperparameter):
    """A number, or ``"auto"`` (learning rates and regularisation the algorithm picks itself)."""

    def parse(self, value: Any) -> float | str:
        text = str(value).strip()
        if text.lower() == "auto":
            return "auto"
        return float(text)

    def in_range(self, value: Any) -> bool:
        return value == "auto" or self.range is None or value in self.range
