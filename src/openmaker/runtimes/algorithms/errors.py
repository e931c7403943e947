"""The three ways a built-in algorithm fails, as SageMaker's algorithm toolkit names them.

The split matters to the user reading FailureReason: a :class:`UserError` is something they can fix (a
hyperparameter, a channel, the data), an :class:`AlgorithmError` is a bug or an unexpected failure of the
library underneath, a :class:`PlatformError` is the environment (a missing directory). The message of the
cause is appended as the toolkit does ("... (caused by ValueError)") so the two read the same.
"""

from __future__ import annotations


class BaseAlgorithmError(Exception):
    """An error that ends the training job; ``message`` is what goes to ``output/failure``."""

    def __init__(self, message: str | None = None, caused_by: BaseException | None = None) -> None:
        text = message or (str(caused_by) if caused_by is not None else "unknown error occurred")
        if caused_by is not None:
            text += f" (caused by {type(caused_by).__name__})"
        super().__init__(text)
        self.message = text
        self.caused_by = caused_by


class UserError(BaseAlgorithmError):
    """A mistake in the job's configuration or data that the user can correct."""


class AlgorithmError(BaseAlgorithmError):
    """An unexpected failure inside the algorithm or its library."""


class PlatformError(BaseAlgorithmError):
    """The environment the job runs in is not as the algorithm needs it."""
