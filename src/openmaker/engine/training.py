"""Training jobs on the shared lifecycle: channels, code, config files, SM_* env, checkpoints,
``model.tar.gz`` / ``output.tar.gz``, secondary statuses as the real service reports them."""

from __future__ import annotations

import math
import socket
from pathlib import Path
from typing import Any

from openmaker.engine import archive, builtin_metrics, runtime
from openmaker.engine.executors import HostLaunch
from openmaker.engine.lifecycle import ClientError, Outcome, Run
from openmaker.engine.output import JobOutput, MetricMatcher
from openmaker.engine.s3io import S3Uri, head, list_keys, open_blob, place, upload_tree
from openmaker.engine.staging import Source, stage_s3
from openmaker.engine.workspace import (
    DEFAULT_INSTANCE,
    TRAINING_DIRS,
    TrainingLayout,
    decode_hp,
    fresh_dir,
    host_names,
    training_env,
    write_hosts_file,
    write_training_config,
)

MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Stopping": "Stopping the training job",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job stopped because it exceeded its MaxRuntimeInSeconds",
    "Failed": "Training job failed",
}
DEFAULT_CHECKPOINT_DIR = "/opt/ml/checkpoints"


class TrainingRun(Run):
    kind = "TrainingJob"
    log_group = "/aws/sagemaker/TrainingJobs"

    @property
    def instance_count(self) -> int:
        return max(1, int((self.spec.get("ResourceConfig") or {}).get("InstanceCount") or 1))

    def transition(self, phase: str) -> None:
        self.update(secondary_status=phase, message=MESSAGES[phase])

    def on_stopping(self) -> None:
        if self.stop_reason == "Stopped":
            self.transition("Stopping")

    # --- prepare --------------------------------------------------------------------------------

    def prepare(self) -> list[HostLaunch]:
        algorithm = self.spec.get("AlgorithmSpecification") or {}
        hps: dict[str, str] = dict(self.spec.get("HyperParameters") or {})
        instance_type = (self.spec.get("ResourceConfig") or {}).get("InstanceType") or DEFAULT_INSTANCE
        hosts = host_names(self.instance_count)
        self.transition("Downloading")
        fresh_dir(self.dir)
        hosts_file = write_hosts_file(self.dir / "hosts", hosts)
        channels = self.spec.get("InputDataConfig") or []
        default_mode = algorithm.get("TrainingInputMode") or "File"
        data_config = {
            c["ChannelName"]: {
                "TrainingInputMode": c.get("InputMode") or default_mode,
                "S3DistributionType": _s3(c).get("S3DataDistributionType") or "FullyReplicated",
                "RecordWrapperType": c.get("RecordWrapperType") or "None",
                **({"ContentType": c["ContentType"]} if c.get("ContentType") else {}),
            }
            for c in channels
        }
        code_uri = decode_hp(hps.get("sagemaker_submit_directory")) or None
        checkpoint = self.spec.get("CheckpointConfig") or {}
        workspaces = []
        for index, host in enumerate(hosts):
            workspace = fresh_dir(self.dir / host)
            for sub in TRAINING_DIRS:
                (workspace / sub).mkdir(parents=True, exist_ok=True)
            for channel in channels:
                self._stage_channel(channel, data_config, workspace, index, len(hosts))
            if isinstance(code_uri, str) and code_uri.startswith("s3://"):
                with open_blob(self.state.objects, head(self.state.objects, S3Uri.parse(code_uri))) as f:
                    archive.safe_extract(f, workspace / "code")
            if checkpoint.get("S3Uri"):
                self._download_checkpoints(checkpoint, workspace)
            workspaces.append(workspace)
        requirements = workspaces[0] / "code" / "requirements.txt"
        prepared = runtime.prepare(
            algorithm.get("TrainingImage") or "",
            "train",
            self.state.settings.home,
            algorithm.get("ContainerEntrypoint"),
            algorithm.get("ContainerArguments"),
            requirements if requirements.is_file() else None,
            job_config=hps,
        )
        base = runtime.base_env(prepared, self.state)
        if len(hosts) > 1:
            base.update(rendezvous_ports())
        base.update({k: str(v) for k, v in (self.spec.get("Environment") or {}).items()})
        self.output = JobOutput(
            self.state.logs,
            self.state.metrics,
            self.log_group,
            self.name,
            MetricMatcher(algorithm.get("MetricDefinitions") or builtin_metrics.metric_definitions(prepared.argv)),
            on_metric=lambda metric, value: self.engine.events.metric(self.kind, self.name, metric, value),
        )
        launches = []
        for host, workspace in zip(hosts, workspaces, strict=True):
            layout = TrainingLayout(
                job_name=self.name,
                job_arn=self.record.arn,
                host=host,
                hosts=hosts,
                instance_type=instance_type,
                hyperparameters=hps,
                input_data_config=data_config,
                opt_ml=self.executor.opt_ml(workspace),
                region=self.state.settings.region,
                module_dir=code_uri if isinstance(code_uri, str) else None,
            )
            write_training_config(workspace, layout, self.spec)
            env = dict(base)
            env.update(training_env(layout))
            launches.append(
                HostLaunch(
                    job_id=f"{self.kind}/{self.name}",
                    host=host,
                    hosts=hosts,
                    argv=prepared.argv,
                    env=env,
                    workspace=workspace,
                    network_isolation=bool(self.spec.get("EnableNetworkIsolation")),
                    expose=self.engine.exposed_paths(prepared),
                    hide=[self.state.settings.home],
                    read_only=["input/data"],
                    hosts_file=hosts_file,
                    cwd=prepared.workdir,
                )
            )
        return launches

    def _stage_channel(self, channel: dict, config: dict, workspace: Path, index: int, count: int) -> None:
        name = channel["ChannelName"]
        s3 = _s3(channel)
        if not s3:
            raise ClientError(f"channel {name!r}: only S3DataSource is supported")
        mode = config[name]["TrainingInputMode"]
        source = Source(
            uri=s3.get("S3Uri", ""),
            data_type=s3.get("S3DataType") or "S3Prefix",
            distribution=s3.get("S3DataDistributionType") or "FullyReplicated",
            compression=channel.get("CompressionType") or "None",
            mode=mode,
        )
        try:
            stage_s3(self.state.objects, source, workspace / "input" / "data" / name, index, count)
        except ClientError:
            raise
        except Exception as exc:
            raise ClientError(f"Data download failed for channel {name!r}: {exc}") from exc

    def _checkpoint_dir(self, checkpoint: dict, workspace: Path) -> Path:
        local = checkpoint.get("LocalPath") or DEFAULT_CHECKPOINT_DIR
        if not local.startswith("/opt/ml/"):
            raise ClientError(f"CheckpointConfig.LocalPath must be under /opt/ml (got {local!r})")
        return workspace / local[len("/opt/ml/") :]

    def _download_checkpoints(self, checkpoint: dict, workspace: Path) -> None:
        uri = S3Uri.parse(checkpoint["S3Uri"])
        target = self._checkpoint_dir(checkpoint, workspace)
        target.mkdir(parents=True, exist_ok=True)
        prefix = uri.key.rstrip("/") + "/" if uri.key else ""
        try:
            found = list_keys(self.state.objects, S3Uri(uri.bucket, prefix))
        except Exception:
            found = []
        for info in found:
            rel = info.key[len(prefix) :]
            if rel and ".." not in Path(rel).parts:
                place(self.state.objects, info, target / rel, link=False)  # the job rewrites these

    # --- collect and finish ---------------------------------------------------------------------

    def failure_file_text(self) -> str | None:
        for workspace in self.host_dirs():
            failure = workspace / "output" / "failure"
            if failure.is_file():
                text = failure.read_text(errors="replace")[:1000]
                if text.strip():
                    return text
        return None

    def collect(self, outcome: Outcome) -> None:
        workspaces = self.host_dirs()
        if not workspaces:
            return
        checkpoint = self.spec.get("CheckpointConfig") or {}
        if checkpoint.get("S3Uri"):
            upload_tree(
                self.state.objects,
                self._checkpoint_dir(checkpoint, workspaces[0]),
                S3Uri.parse(checkpoint["S3Uri"]),
            )
        if outcome.failed is not None and outcome.stop is None:
            return
        self.transition("Uploading")
        out = S3Uri.parse((self.spec.get("OutputDataConfig") or {}).get("S3OutputPath") or "")
        base = out.join(self.name, "output")
        model = base.join("model.tar.gz")
        archive.pack_dirs(self.state.objects, [w / "model" for w in workspaces], model)
        self.update(state={"ModelArtifacts": {"S3ModelArtifacts": str(model)}})
        data_dirs = [w / "output" / "data" for w in workspaces]
        if archive.has_files(data_dirs):
            archive.pack_dirs(self.state.objects, data_dirs, base.join("output.tar.gz"))

    def finish(self, outcome: Outcome | None, failure: str | None) -> None:
        fields: dict[str, Any] = {"end_time": _now()}
        state: dict[str, Any] = {}
        if self.output is not None:
            state["FinalMetricDataList"] = self.output.final_metrics()
        if outcome is not None:
            seconds = max(1, math.ceil(outcome.training_seconds))
            state["TrainingTimeInSeconds"] = seconds
            state["BillableTimeInSeconds"] = seconds * self.instance_count
        if failure is not None:
            status, secondary = "Failed", "Failed"
            fields["failure_reason"] = failure
        elif outcome is not None and outcome.stop == "MaxRuntimeExceeded":
            status, secondary = "Stopped", "MaxRuntimeExceeded"
        elif (outcome is not None and outcome.stop) or self.stop_reason:
            status, secondary = "Stopped", "Stopped"
        else:
            status, secondary = "Completed", "Completed"
        self.update(
            status=status, secondary_status=secondary, message=MESSAGES[secondary], state=state, **fields
        )


def _s3(channel: dict) -> dict:
    return (channel.get("DataSource") or {}).get("S3DataSource") or {}


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def rendezvous_ports() -> dict[str, str]:
    """Free loopback ports for one multi-host job's rendezvous (torch's MASTER_PORT, XGBoost's tracker).

    On SageMaker every host has its own network, so fixed ports are fine; here the hosts of every job share
    the machine's loopback, and two distributed jobs (or two servers) must not meet on one port."""
    ports = []
    sockets = [socket.socket() for _ in range(2)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return {"MASTER_PORT": str(ports[0]), "OPENMAKER_XGBOOST_TRACKER_PORT": str(ports[1])}
