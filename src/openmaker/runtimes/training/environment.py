"""The training environment as the SageMaker training toolkit presents it to user code.

Paths come from the ``SM_*`` variables when the engine set them, otherwise from the ``/opt/ml`` tree
(``$OPENMAKER_OPT_ML`` when the job runs without a sandbox). Hyperparameters arrive as strings; the SDK
JSON-encodes every value (``"\\"train.py\\""``), so each value is JSON-decoded when it can be.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The port the SageMaker PyTorch toolkit gives the master host for distributed rendezvous.
MASTER_PORT = 7777

# SDK-added hyperparameters are framework parameters, not arguments of the user's script. The tuning
# service adds ``_tuning_objective_metric``; scripts with strict argparse would reject it.
FRAMEWORK_PREFIX = "sagemaker_"
HIDDEN_PREFIXES = (FRAMEWORK_PREFIX, "_tuning_objective_metric")


def opt_ml() -> Path:
    """The root of the job's tree: ``/opt/ml`` in a sandbox, the workspace otherwise."""
    return Path(os.environ.get("OPENMAKER_OPT_ML") or "/opt/ml")


def decode(value: Any) -> Any:
    """A hyperparameter value as the script should see it: JSON when it parses, else the string."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return {}


def to_cmd_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``{"epochs": 10, "lr": 0.1}`` -> ``["--epochs", "10", "--lr", "0.1"]`` (sorted, like the toolkit)."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(("--" if len(key) > 1 else "-") + key)
        args.append(value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict | list) else str(value))
    return args


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class TrainingEnv:
    """Everything the toolkit tells a user script, read once at start-up."""

    root: Path
    hyperparameters: dict[str, Any]
    framework_params: dict[str, Any]
    input_data_config: dict[str, Any]
    resource_config: dict[str, Any]
    model_dir: Path
    output_dir: Path
    output_data_dir: Path
    output_intermediate_dir: Path
    input_dir: Path
    input_config_dir: Path
    channel_input_dirs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> TrainingEnv:
        root = opt_ml()
        env = os.environ
        input_dir = Path(env.get("SM_INPUT_DIR") or root / "input")
        config_dir = Path(env.get("SM_INPUT_CONFIG_DIR") or input_dir / "config")
        output_dir = Path(env.get("SM_OUTPUT_DIR") or root / "output")
        raw = _read_json(config_dir / "hyperparameters.json")
        decoded = {key: decode(value) for key, value in raw.items()}
        input_data_config = _read_json(config_dir / "inputdataconfig.json")
        channels = {
            name: env.get(f"SM_CHANNEL_{name.upper()}") or str(input_dir / "data" / name)
            for name in input_data_config
        }
        return cls(
            root=root,
            hyperparameters={k: v for k, v in decoded.items() if not k.startswith(HIDDEN_PREFIXES)},
            framework_params={k: v for k, v in decoded.items() if k.startswith(FRAMEWORK_PREFIX)},
            input_data_config=input_data_config,
            resource_config=_read_json(config_dir / "resourceconfig.json"),
            model_dir=Path(env.get("SM_MODEL_DIR") or root / "model"),
            output_dir=output_dir,
            output_data_dir=Path(env.get("SM_OUTPUT_DATA_DIR") or output_dir / "data"),
            output_intermediate_dir=Path(env.get("SM_OUTPUT_INTERMEDIATE_DIR") or output_dir / "intermediate"),
            input_dir=input_dir,
            input_config_dir=config_dir,
            channel_input_dirs=channels,
        )

    @property
    def failure_file(self) -> Path:
        return self.output_dir / "failure"

    @property
    def current_host(self) -> str:
        return os.environ.get("SM_CURRENT_HOST") or self.resource_config.get("current_host") or "algo-1"

    @property
    def hosts(self) -> list[str]:
        if os.environ.get("SM_HOSTS"):
            return list(json.loads(os.environ["SM_HOSTS"]))
        return list(self.resource_config.get("hosts") or [self.current_host])

    @property
    def num_cpus(self) -> int:
        return int(os.environ.get("SM_NUM_CPUS") or os.cpu_count() or 1)

    @property
    def num_gpus(self) -> int:
        return int(os.environ.get("SM_NUM_GPUS") or 0)

    @property
    def log_level(self) -> int:
        return int(self.framework_params.get("sagemaker_container_log_level") or 20)

    @property
    def program(self) -> str | None:
        return self.framework_params.get("sagemaker_program") or os.environ.get("SAGEMAKER_PROGRAM") or None

    @property
    def submit_directory(self) -> str | None:
        return (
            self.framework_params.get("sagemaker_submit_directory")
            or os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY")
            or None
        )

    @property
    def module_name(self) -> str:
        program = self.program or ""
        return program[:-3] if program.endswith(".py") else program

    def user_args(self) -> list[str]:
        return to_cmd_args(self.hyperparameters)

    def to_env_vars(self, code_dir: Path) -> dict[str, str]:
        """The ``SM_*`` variables of the toolkit (paths the engine set were read from it in :meth:`load`)."""
        hosts = self.hosts
        training_env = {
            "channel_input_dirs": self.channel_input_dirs,
            "current_host": self.current_host,
            "framework_module": os.environ.get("SAGEMAKER_TRAINING_MODULE", "openmaker.runtimes.training"),
            "hosts": hosts,
            "hyperparameters": self.hyperparameters,
            "additional_framework_parameters": self.framework_params,
            "input_config_dir": str(self.input_config_dir),
            "input_data_config": self.input_data_config,
            "input_dir": str(self.input_dir),
            "job_name": self.framework_params.get("sagemaker_job_name") or os.environ.get("TRAINING_JOB_NAME", ""),
            "log_level": self.log_level,
            "master_hostname": hosts[0] if hosts else self.current_host,
            "model_dir": str(self.model_dir),
            "module_dir": str(self.submit_directory or code_dir),
            "module_name": self.module_name,
            "network_interface_name": self.resource_config.get("network_interface_name", "eth0"),
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "output_data_dir": str(self.output_data_dir),
            "output_dir": str(self.output_dir),
            "output_intermediate_dir": str(self.output_intermediate_dir),
            "resource_config": self.resource_config,
            "user_entry_point": self.program or "",
        }
        env = {
            "SM_TRAINING_ENV": json.dumps(training_env),
            "SM_USER_ARGS": json.dumps(self.user_args()),
            "SM_HPS": json.dumps(self.hyperparameters),
            "SM_CHANNELS": json.dumps(sorted(self.channel_input_dirs)),
            "SM_FRAMEWORK_PARAMS": json.dumps(self.framework_params),
            "SM_INPUT_DATA_CONFIG": json.dumps(self.input_data_config),
            "SM_RESOURCE_CONFIG": json.dumps(self.resource_config),
            "SM_HOSTS": json.dumps(hosts),
            "SM_CURRENT_HOST": self.current_host,
            "SM_MODULE_DIR": training_env["module_dir"],
            "SM_MODULE_NAME": self.module_name,
            "SM_USER_ENTRY_POINT": self.program or "",
            "SM_FRAMEWORK_MODULE": training_env["framework_module"],
            "SM_LOG_LEVEL": str(self.log_level),
            "SM_NETWORK_INTERFACE_NAME": training_env["network_interface_name"],
            "SM_NUM_CPUS": str(self.num_cpus),
            "SM_NUM_GPUS": str(self.num_gpus),
            "SM_MODEL_DIR": str(self.model_dir),
            "SM_INPUT_DIR": str(self.input_dir),
            "SM_INPUT_CONFIG_DIR": str(self.input_config_dir),
            "SM_OUTPUT_DIR": str(self.output_dir),
            "SM_OUTPUT_DATA_DIR": str(self.output_data_dir),
            "SM_OUTPUT_INTERMEDIATE_DIR": str(self.output_intermediate_dir),
        }
        env.update(self.distributed_env(hosts))
        for name, path in self.channel_input_dirs.items():
            env[f"SM_CHANNEL_{name.upper()}"] = path
        for key, value in self.hyperparameters.items():
            env[f"SM_HP_{key.upper().replace('-', '_')}"] = _env_value(value)
        return env

    def distributed_env(self, hosts: list[str]) -> dict[str, str]:
        """What the framework toolkits set for multi-host jobs: the master's address and port
        (``torch.distributed``'s env:// rendezvous), using the engine's address map when host names
        do not resolve (the plain-process executor)."""
        if len(hosts) < 2 or os.environ.get("MASTER_ADDR"):
            return {}
        addresses = json.loads(os.environ.get("OPENMAKER_HOST_ADDRESSES") or "{}")
        return {
            "MASTER_ADDR": addresses.get(hosts[0], hosts[0]),
            "MASTER_PORT": os.environ.get("MASTER_PORT", str(MASTER_PORT)),
            "WORLD_SIZE": str(len(hosts)),
            "RANK": str(hosts.index(self.current_host)) if self.current_host in hosts else "0",
        }

    def make_dirs(self) -> None:
        for path in (self.model_dir, self.output_data_dir, self.output_intermediate_dir):
            path.mkdir(parents=True, exist_ok=True)
