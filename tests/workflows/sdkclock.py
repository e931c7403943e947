"""Short SDK polling waits for tests (used in process and by the SDK v1 subprocess)."""

from __future__ import annotations


class FastClock:
    """Stands in for the ``time`` module inside ``sagemaker.session``: the SDK's waits (5 s before the
    first DescribeTrainingJob, 10 s between log reads, a DescribeTrainingJob every 30 s, one more pause
    after the end) are shortened to ``cap`` seconds while ``time()`` advances as if they were not, so the
    SDK makes the same calls in the same order, only sooner."""

    def __init__(self, real, cap: float = 0.2) -> None:
        self._real = real
        self._cap = cap
        self._skipped = 0.0

    def sleep(self, seconds: float) -> None:
        slept = min(seconds, self._cap)
        self._real.sleep(slept)
        self._skipped += max(0.0, seconds - slept)

    def time(self) -> float:
        return self._real.time() + self._skipped

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def install(cap: float = 0.2) -> None:
    """Shorten the waits of ``sagemaker.session`` in this process (SDK v1 or v2)."""
    import time

    import sagemaker.session

    sagemaker.session.time = FastClock(time, cap)
