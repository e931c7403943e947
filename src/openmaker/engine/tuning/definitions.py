"""A tuning job's training job definitions, and the ordinary training jobs made from them.

A child is what CreateTrainingJob would have recorded for the same request, plus ``TuningJobArn``
(DescribeTrainingJob shows it) and an openmaker-only ``TuningTrial`` entry (its index, definition
and tuned values) that the tuner and the listings read back. Children are named as the service names
them: ``<tuning job>-<3-digit index>-<8 hex>``, at most 32 + 13 characters, inside the 63 a training
job name may have (which is why the definition name is not part of it; it is in
``TrainingJobDefinitionName`` of the summaries instead).
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass
from typing import Any

OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
TRAINING_KIND = "TrainingJob"
TUNING_KIND = "HyperParameterTuningJob"
# HyperParameterTrainingJobDefinition members copied as they are into CreateTrainingJob.
COPIED = (
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)
RESOURCE_KEYS = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")


@dataclass(frozen=True)
class Definition:
    """One training job definition with the objective and ranges that apply to it."""

    name: str | None  # DefinitionName (multi-algorithm tuning), None for TrainingJobDefinition
    body: dict[str, Any]
    objective: dict[str, str]  # {"Type": "Maximize"|"Minimize", "MetricName": ...}
    ranges: dict[str, Any]

    @property
    def key(self) -> str:
        return self.name or ""

    @property
    def metric(self) -> str:
        return self.objective["MetricName"]

    @property
    def static(self) -> dict[str, str]:
        return dict(self.body.get("StaticHyperParameters") or {})


def definitions(spec: dict[str, Any]) -> list[Definition]:
    """The definitions of a CreateHyperParameterTuningJob request (single or multi-algorithm); a
    definition without its own objective or ranges uses the job config's."""
    config = spec.get("HyperParameterTuningJobConfig") or {}
    objective = config.get("HyperParameterTuningJobObjective")
    ranges = config.get("ParameterRanges")
    if spec.get("TrainingJobDefinition") is not None:
        bodies = [spec["TrainingJobDefinition"]]
    else:
        bodies = list(spec.get("TrainingJobDefinitions") or [])
    single = spec.get("TrainingJobDefinition") is not None
    return [
        Definition(
            name=None if single else body.get("DefinitionName"),
            body=body,
            objective=body.get("TuningObjective") or objective or {},
            ranges=body.get("HyperParameterRanges") or ranges or {},
        )
        for body in bodies
    ]


def with_objective_hyperparameter(spec: dict[str, Any]) -> dict[str, Any]:
    """The request as the service records it: each definition's StaticHyperParameters gains
    ``_tuning_objective_metric`` (built-in algorithms read it; ``HyperparameterTuner.attach`` expects
    it and removes it)."""
    spec = copy.deepcopy(spec)
    for definition in definitions(spec):
        statics = definition.body.setdefault("StaticHyperParameters", {})
        if definition.objective.get("MetricName"):
            statics[OBJECTIVE_HYPERPARAMETER] = definition.objective["MetricName"]
    return spec


def child_name(tuning_name: str, index: int) -> str:
    return f"{tuning_name}-{index:03d}-{secrets.token_hex(4)}"


def training_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account_id}:training-job/{name.lower()}"


def child_request(
    definition: Definition, name: str, tuned: dict[str, str], tuning_arn: str, index: int
) -> dict[str, Any]:
    """The CreateTrainingJob request (as recorded) for one trial of ``definition``."""
    body = definition.body
    algorithm = {
        key: value
        for key, value in (body.get("AlgorithmSpecification") or {}).items()
        if key in ("TrainingImage", "AlgorithmName", "TrainingInputMode", "MetricDefinitions")
    }
    resources = body.get("ResourceConfig") or body.get("HyperParameterTuningResourceConfig") or {}
    if resources.get("InstanceConfigs") and not resources.get("InstanceType"):
        first = resources["InstanceConfigs"][0]  # Prioritized: the first configuration is preferred
        resources = {**resources, **first}
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "HyperParameters": {**definition.static, **tuned},
        "AlgorithmSpecification": algorithm,
        "ResourceConfig": {key: resources[key] for key in RESOURCE_KEYS if key in resources},
    }
    request.update({key: copy.deepcopy(body[key]) for key in COPIED if key in body})
    request["TuningJobArn"] = tuning_arn
    request["TuningTrial"] = {"Index": index, "DefinitionName": definition.name, "TunedHyperParameters": tuned}
    return request


def representative_tuned(definition: Definition) -> dict[str, str]:
    """Some valid tuned values (each range's minimum or first value), to check a definition the
    way CreateTrainingJob would check its children."""
    out: dict[str, str] = {}
    for key in ("IntegerParameterRanges", "ContinuousParameterRanges"):
        for item in definition.ranges.get(key) or []:
            out[item["Name"]] = str(item.get("MinValue"))
    for item in definition.ranges.get("CategoricalParameterRanges") or []:
        values = item.get("Values") or [""]
        out[item["Name"]] = str(values[0])
    return out
