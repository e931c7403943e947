"""The MetricDefinitions SageMaker applies to a built-in algorithm's logs.

A built-in algorithm job names no MetricDefinitions: the service knows the algorithm's own (for XGBoost
``train:<m>`` and ``validation:<m>`` for every metric it can print, matching its per-round lines
``[i]#011train-<m>:<v>#011validation-<m>:<v>``), and they are what FinalMetricDataList, CloudWatch and
tuning objectives like ``validation:auc`` read. The table is the service's knowledge, so it lives here
beside the image table rather than being imported from the runtime (which the engine only starts).
"""

from __future__ import annotations

import re

ALGORITHMS_MODULE = "openmaker.runtimes.algorithms"
NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

XGBOOST_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg", "precision",
    "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro", "aft-nloglik",
    "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy", "logloss", "mae",
    "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)


def _rounds(metrics: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"Name": f"{data}:{metric}", "Regex": rf".*\[[0-9]+\].*#011{data}-{metric}:{NUMBER}.*"}
            for metric in metrics for data in ("train", "validation")]


def _quality(names: tuple[str, ...]) -> list[dict[str, str]]:
    """The first-party algorithms' ``#quality_metric: host=algo-1[, epoch=3], test rmse <loss>=0.93``
    lines, for metrics named ``<data>:<metric>``; per-epoch lines match too (the last value is final)."""
    definitions = []
    for name in names:
        data, metric = name.split(":", 1)
        regex = rf"#quality_metric: host=\S+, (?:epoch=\S+, )?{data} {re.escape(metric)} <(?:loss|score)>=(\S+)"
        definitions.append({"Name": name, "Regex": regex})
    return definitions


def _both(data: tuple[str, ...], metrics: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{where}:{metric}" for where in data for metric in metrics)


LINEAR_LEARNER_METRICS = (
    "objective_loss", "binary_classification_accuracy", "binary_f_beta", "precision", "recall",
    "roc_auc_score", "mse", "rmse", "absolute_loss", "r2", "multiclass_accuracy", "multiclass_top_k_accuracy",
    "macro_f_beta", "macro_precision", "macro_recall", "dcg",
)
FACTORIZATION_MACHINES_METRICS = (
    "rmse", "binary_classification_accuracy", "binary_classification_cross_entropy", "binary_f_beta",
)

DEFINITIONS: dict[str, list[dict[str, str]]] = {
    "xgboost": _rounds(XGBOOST_METRICS),
    # The container's own definitions: objectives print as "<loss>_objective" ("mse_objective"), per epoch
    # for train/validation; F-beta and top-k carry their parameter ("binary_f_1.000").
    "linear-learner": [
        {"Name": f"{data}:objective_loss{final}",
         "Regex": rf"#quality_metric: host=\S+, {epoch}{data} \S+_objective <loss>=(\S+)"}
        for data, epoch, final in (("train", r"epoch=\S+, ", ""), ("validation", r"epoch=\S+, ", ""),
                                   ("validation", "", ":final"), ("test", "", ""))
    ] + [
        {"Name": f"{data}:{metric}",
         "Regex": rf"#quality_metric: host=\S+, {data} {pattern} <(?:loss|score)>=(\S+)"}
        for data in ("validation", "test")
        for metric, pattern in ((m, {"binary_f_beta": r"binary_f_\S+", "macro_f_beta": r"macro_f_\S+",
                                     "multiclass_top_k_accuracy": r"multiclass_top_k_accuracy_\S+"}
                                 .get(m, re.escape(m))) for m in LINEAR_LEARNER_METRICS if m != "objective_loss")
    ] + [
        {"Name": "train:progress", "Regex": r"#progress_metric: host=\S+, completed (\S+) %"},
        {"Name": "train:throughput", "Regex": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"},
    ],
    "kmeans": _quality(_both(("train",), ("msd",)) + _both(("test",), ("msd", "ssd"))),
    "factorization-machines": _quality(_both(("train", "validation", "test"), FACTORIZATION_MACHINES_METRICS)),
    "pca": [],
    "knn": _quality(_both(("test",), ("accuracy", "mse"))),
}


def algorithm_of(argv: list[str]) -> str | None:
    """The built-in algorithm a job's command runs (``python -m openmaker.runtimes.algorithms <name>``)."""
    for index, arg in enumerate(argv[:-1]):
        if arg == ALGORITHMS_MODULE and index > 0 and argv[index - 1] == "-m":
            return argv[index + 1]
    return None


def metric_definitions(argv: list[str]) -> list[dict[str, str]]:
    """The algorithm's MetricDefinitions for a job running ``argv`` (none for other jobs)."""
    algorithm = algorithm_of(argv)
    return list(DEFINITIONS.get(algorithm or "", []))
