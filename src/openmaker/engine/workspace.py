"""The ``/opt/ml`` tree of one host and the SageMaker environment that describes it.

Files and variables follow the SageMaker container contract (sagemaker-training-toolkit's
``_env.py``/``environment.py`` names): ``input/config/{hyperparameters,resourceconfig,
inputdataconfig}.json``, ``input/data/<channel>``, ``model/``, ``output/{data,failure}``, ``code/``
and ``SM_*``. Paths inside the environment are built from ``opt_ml``, the path at which the job sees
its workspace (``/opt/ml`` in the sandbox, the workspace itself for plain processes).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRAINING_DIRS = ("input/config", "input/data", "model", "output/data", "output/intermediate", "code")
DEFAULT_INSTANCE = "ml.m5.xlarge"


def job_dir(home: Path, kind: str, name: str) -> Path:
    return home / "jobs" / kind / name


def host_names(count: int) -> list[str]:
    return [f"algo-{i}" for i in range(1, max(1, count) + 1)]


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=None))


def write_hosts_file(path: Path, hosts: list[str]) -> Path:
    """/etc/hosts for the sandbox: every host of the job is this machine (they share its network)."""
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    lines += [f"127.0.0.1 {host}" for host in hosts]
    path.write_text("\n".join(lines) + "\n")
    return path


def gpu_count() -> int:
    try:
        return sum(1 for name in os.listdir("/dev") if name.startswith("nvidia") and name[6:].isdigit())
    except OSError:
        return 0


def resource_config(host: str, hosts: list[str], instance_type: str) -> dict[str, Any]:
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": "homogeneousCluster", "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


def decode_hp(value: Any) -> Any:
    """Hyperparameters are strings; the SDK JSON-encodes them (``"\\"train.py\\""``). Decode like the
    toolkit: JSON when it parses, else the string itself."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class TrainingLayout:
    """Inputs for the training environment of one host."""

    job_name: str
    job_arn: str
    host: str
    hosts: list[str]
    instance_type: str
    hyperparameters: dict[str, str]
    input_data_config: dict[str, dict[str, Any]]  # inputdataconfig.json
    opt_ml: str  # the job's view of its workspace root
    region: str
    module_dir: str | None = None  # SM_MODULE_DIR (the original S3 URI of the code)


def training_env(layout: TrainingLayout) -> dict[str, str]:
    """``SM_*`` and friends, as the training toolkit would set them."""
    root = layout.opt_ml
    decoded = {k: decode_hp(v) for k, v in layout.hyperparameters.items()}
    user_hps = {k: v for k, v in decoded.items() if not k.startswith("sagemaker_")}
    framework = {k: v for k, v in decoded.items() if k.startswith("sagemaker_")}
    program = str(framework.get("sagemaker_program") or "")
    channels = sorted(layout.input_data_config)
    channel_dirs = {c: f"{root}/input/data/{c}" for c in channels}
    user_args: list[str] = []
    for key, value in user_hps.items():
        user_args += [f"--{key}", _env_value(value)]
    resource = resource_config(layout.host, layout.hosts, layout.instance_type)
    num_cpus, num_gpus = os.cpu_count() or 1, gpu_count()
    training = {
        "additional_framework_parameters": {
            k: v
            for k, v in framework.items()
            if k
            not in (
                "sagemaker_program",
                "sagemaker_submit_directory",
                "sagemaker_region",
                "sagemaker_job_name",
                "sagemaker_container_log_level",
            )
        },
        "channel_input_dirs": channel_dirs,
        "current_host": layout.host,
        "current_instance_group": "homogeneousCluster",
        "current_instance_group_hosts": layout.hosts,
        "current_instance_type": layout.instance_type,
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": None,
        "hosts": layout.hosts,
        "hyperparameters": user_hps,
        "input_config_dir": f"{root}/input/config",
        "input_data_config": layout.input_data_config,
        "input_dir": f"{root}/input",
        "instance_groups": ["homogeneousCluster"],
        "instance_groups_dict": {
            "homogeneousCluster": {
                "instance_group_name": "homogeneousCluster",
                "instance_type": layout.instance_type,
                "hosts": layout.hosts,
            }
        },
        "is_hetero": False,
        "is_master": layout.host == layout.hosts[0],
        "is_modelparallel_enabled": None,
        "job_name": layout.job_name,
        "log_level": int(framework.get("sagemaker_container_log_level") or 20),
        "master_hostname": layout.hosts[0],
        "model_dir": f"{root}/model",
        "module_dir": layout.module_dir or f"{root}/code",
        "module_name": program[:-3] if program.endswith(".py") else program,
        "network_interface_name": "eth0",
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "num_neurons": 0,
        "output_data_dir": f"{root}/output/data",
        "output_dir": f"{root}/output",
        "output_intermediate_dir": f"{root}/output/intermediate",
        "resource_config": resource,
        "user_entry_point": program,
    }
    env = {
        "TRAINING_JOB_NAME": layout.job_name,
        "TRAINING_JOB_ARN": layout.job_arn,
        "SM_HOSTS": json.dumps(layout.hosts),
        "SM_CURRENT_HOST": layout.host,
        "SM_CURRENT_INSTANCE_TYPE": layout.instance_type,
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": json.dumps(layout.hosts),
        "SM_INSTANCE_GROUPS": json.dumps(["homogeneousCluster"]),
        "SM_IS_HETERO": "false",
        "SM_MASTER_ADDR": layout.hosts[0],
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_NUM_CPUS": str(num_cpus),
        "SM_NUM_GPUS": str(num_gpus),
        "SM_NUM_NEURONS": "0",
        "SM_HPS": json.dumps(user_hps),
        "SM_USER_ARGS": json.dumps(user_args),
        "SM_CHANNELS": json.dumps(channels),
        "SM_INPUT_DATA_CONFIG": json.dumps(layout.input_data_config),
        "SM_RESOURCE_CONFIG": json.dumps(resource),
        "SM_FRAMEWORK_PARAMS": json.dumps(training["additional_framework_parameters"]),
        "SM_MODEL_DIR": f"{root}/model",
        "SM_INPUT_DIR": f"{root}/input",
        "SM_INPUT_CONFIG_DIR": f"{root}/input/config",
        "SM_OUTPUT_DIR": f"{root}/output",
        "SM_OUTPUT_DATA_DIR": f"{root}/output/data",
        "SM_OUTPUT_INTERMEDIATE_DIR": f"{root}/output/intermediate",
        "SM_USER_ENTRY_POINT": program,
        "SM_MODULE_NAME": training["module_name"],
        "SM_MODULE_DIR": training["module_dir"],
        "SM_LOG_LEVEL": str(training["log_level"]),
        "SM_FRAMEWORK_MODULE": "",
        "SM_TRAINING_ENV": json.dumps(training),
        "OPENMAKER_CODE_DIR": f"{root}/code",
    }
    for channel, path in channel_dirs.items():
        env[f"SM_CHANNEL_{channel.upper()}"] = path
    for key, value in user_hps.items():
        env[f"SM_HP_{key.upper()}"] = _env_value(value)
    return env


def write_training_config(workspace: Path, layout: TrainingLayout, spec: dict[str, Any]) -> None:
    config = workspace / "input" / "config"
    write_json(config / "hyperparameters.json", layout.hyperparameters)
    write_json(
        config / "resourceconfig.json", resource_config(layout.host, layout.hosts, layout.instance_type)
    )
    write_json(config / "inputdataconfig.json", layout.input_data_config)
    checkpoint = spec.get("CheckpointConfig")
    if checkpoint:
        write_json(config / "checkpointconfig.json", checkpoint)
    write_json(config / "trainingjobconfig.json", {"TrainingJobName": layout.job_name, **spec})


def processing_config(workspace: Path, host: str, hosts: list[str], instance_type: str, spec: dict) -> None:
    """``/opt/ml/config/{processingjobconfig,resourceconfig}.json``, as processing containers get."""
    config = workspace / "config"
    write_json(config / "processingjobconfig.json", spec)
    write_json(config / "resourceconfig.json", {"current_host": host, "hosts": hosts})
