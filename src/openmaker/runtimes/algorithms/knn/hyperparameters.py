"""The hyperparameters of SageMaker's k-NN (``knn:1``), with the ranges and rules its documentation gives.

``feature_dim``, ``k``, ``predictor_type`` and ``sample_size`` are required; ``dimension_reduction_target``
is required once ``dimension_reduction_type`` is set and must be below ``feature_dim``; ``faiss_index_pq_m``
takes FAISS's product-quantizer sizes; ``faiss.IVFPQ`` supports only the ``L2`` metric. Failures are
worded as the first-party algorithms' JSON-schema validation words them (:mod:`..firstparty.schema`), so
the FailureReason always names the hyperparameter to fix.
"""

from __future__ import annotations

from typing import Any

from openmaker.runtimes.algorithms.errors import UserError
from openmaker.runtimes.algorithms.firstparty.schema import MESSAGES, POSITIVE, PREFIX, IntegerOrAuto
from openmaker.runtimes.algorithms.hyperparameters import Categorical, Integer, Schema

PREDICTOR_TYPES = ("classifier", "regressor")
REDUCTION_TYPES = ("sign", "fjlt")
INDEX_METRICS = ("L2", "INNER_PRODUCT", "COSINE")
INDEX_TYPES = ("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ")
PQ_M = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)
OBJECTIVES = ("test:accuracy", "test:mse")


def _target_below_feature_dim(target: int, deps: dict[str, Any]) -> None:
    feature_dim = deps.get("feature_dim")
    if feature_dim is not None and target >= feature_dim:
        raise UserError(PREFIX + f"{target!r} is not valid for 'dimension_reduction_target': expected a "
                        f"positive integer less than feature_dim ({feature_dim})")


def _reduction_needs_target(kind: str, deps: dict[str, Any]) -> None:
    if "dimension_reduction_target" not in deps:
        raise UserError(PREFIX + "'dimension_reduction_target' is a required property when "
                        f"'dimension_reduction_type' is {kind!r}")


def _metric_fits_index(metric: str, deps: dict[str, Any]) -> None:
    if deps.get("index_type") == "faiss.IVFPQ" and metric != "L2":
        raise UserError(PREFIX + f"'index_metric' {metric!r} is not supported with 'index_type' "
                        "'faiss.IVFPQ': use 'L2'")


def _objective_fits_predictor(objective: str, deps: dict[str, Any]) -> None:
    expected = "test:accuracy" if deps.get("predictor_type") == "classifier" else "test:mse"
    if objective != expected:
        raise UserError(PREFIX + f"'_tuning_objective_metric' {objective!r} is not reported for "
                        f"predictor_type {deps.get('predictor_type')!r}: use {expected!r}")


SCHEMA = Schema(
    [
        Integer("feature_dim", range=POSITIVE, required=True),
        Integer("k", range=POSITIVE, required=True, tunable=True),
        Categorical("predictor_type", range=list(PREDICTOR_TYPES), required=True),
        Integer("sample_size", range=POSITIVE, required=True, tunable=True),
        Integer("dimension_reduction_target", range=POSITIVE, depends_on=("feature_dim",),
                check=_target_below_feature_dim),
        Categorical("dimension_reduction_type", range=list(REDUCTION_TYPES),
                    depends_on=("dimension_reduction_target",), check=_reduction_needs_target),
        Categorical("index_metric", range=list(INDEX_METRICS), default="L2", depends_on=("index_type",),
                    check=_metric_fits_index),
        Categorical("index_type", range=list(INDEX_TYPES), default="faiss.Flat"),
        IntegerOrAuto("faiss_index_ivf_nlists", range=POSITIVE, default="auto"),
        Integer("faiss_index_pq_m", range=list(PQ_M)),
        Integer("mini_batch_size", range=POSITIVE, default=5000),
        Categorical("_tuning_objective_metric", range=list(OBJECTIVES), depends_on=("predictor_type",),
                    check=_objective_fits_predictor),
    ],
    messages=MESSAGES,
)
