"""Metric lines as Amazon's algorithms print them: ``#quality_metric: host=algo-1, test rmse <loss>=0.93``.

Per epoch the line carries ``epoch=<n>``; the final evaluation on the ``test`` channel (and the final one on
``validation``) has none. The metric name printed is the name of the metric the service reports
(``test:rmse`` reads ``test rmse``), and the service's regexes (``engine/builtin_metrics.py``) are written
against exactly this text, so FinalMetricDataList and tuning objectives see the last value printed.
"""

from __future__ import annotations

import os
import sys

HOST = os.environ.get("SM_CURRENT_HOST") or "algo-1"


def line(data: str, metric: str, value: float, *, kind: str = "loss", epoch: int | None = None,
         host: str | None = None) -> str:
    """``#quality_metric: host=algo-1[, epoch=3], <data> <metric> <loss|score>=<value>``."""
    where = f"host={host or HOST}" + (f", epoch={epoch}" if epoch is not None else "")
    return f"#quality_metric: {where}, {data} {metric} <{kind}>={float(value)!r}"


def emit(data: str, metric: str, value: float, *, kind: str = "loss", epoch: int | None = None) -> None:
    """Print one metric line now (the engine matches regexes as lines arrive)."""
    sys.stdout.write(line(data, metric, value, kind=kind, epoch=epoch) + "\n")
    sys.stdout.flush()
