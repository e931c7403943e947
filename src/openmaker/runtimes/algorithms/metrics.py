"""Metric log lines in the form SageMaker's metric regexes read.

The built-in algorithms' metrics reach FinalMetricDataList, CloudWatch and hyperparameter tuning only
through regexes applied to the job's log lines. For XGBoost those are
``.*\\[[0-9]+\\].*#011validation-auc:([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*``: the container prints
``[3]<TAB>train-auc:0.9<TAB>validation-auc:0.8`` and SageMaker's log pipeline escapes the tab as ``#011``
before the regexes see it. openmaker's log lines are stored as printed, so the algorithms print the
escaped form themselves; the CloudWatch text is then the real service's, byte for byte, and any regex
written against it (the service's, a user's copy of it) matches.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

TAB = "#011"  # a tab as SageMaker's CloudWatch log lines show it
NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def round_line(iteration: int, scores: Iterable[tuple[str, str, float]], fmt: str = ".5f") -> str:
    """``[7]#011train-rmse:0.12345#011validation-rmse:0.23456`` for (data, metric, value) triples."""
    parts = [f"[{iteration}]"]
    parts.extend(f"{data}-{metric}:{value:{fmt}}" for data, metric, value in scores)
    return TAB.join(parts)


def emit(line: str) -> None:
    """Print a metric line now (the engine matches regexes as lines arrive)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def round_regex(data: str, metric: str) -> str:
    """The service's regex for ``<data>:<metric>`` of an algorithm that logs per-round lines."""
    return rf".*\[[0-9]+\].*{TAB}{data}-{metric}:{NUMBER}.*"


def definitions(metrics: Iterable[str], data_names: Iterable[str] = ("train", "validation")) -> list[dict[str, str]]:
    """MetricDefinitions (``train:rmse``, ``validation:auc``, …) for per-round lines of these metrics."""
    return [{"Name": f"{data}:{metric}", "Regex": round_regex(data, metric)}
            for metric in metrics for data in data_names]
