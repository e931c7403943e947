"""TrainingJobEarlyStoppingType=Auto: SageMaker's median stopping rule.

As the service documents it: after each epoch (each value of the objective a job reports), compute
for every earlier training job the running average of its objective up to that same epoch, take the
median of those averages, and stop the current job if its value is worse than that median. The rule
waits until a few earlier jobs reached the epoch, so the first jobs always run to the end.
"""

from __future__ import annotations

from statistics import median

MIN_EARLIER_JOBS = 3


class MedianRule:
    def __init__(self, maximize: bool) -> None:
        self.maximize = maximize
        self.earlier: list[list[float]] = []  # objective values per epoch of jobs that ended

    def add_finished(self, values: list[float]) -> None:
        if values:
            self.earlier.append(list(values))

    def should_stop(self, values: list[float]) -> bool:
        """``values``: the current job's objective so far (its last one is the current epoch's)."""
        epoch = len(values)
        if epoch == 0:
            return False
        averages = [sum(v[:epoch]) / epoch for v in self.earlier if len(v) >= epoch]
        if len(averages) < MIN_EARLIER_JOBS:
            return False
        threshold = median(averages)
        current = values[-1]
        return current < threshold if self.maximize else current > threshold
