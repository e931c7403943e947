"""Processing jobs on the shared lifecycle: ProcessingInputs staged under ``/opt/ml/processing``,
AppSpecification run, ProcessingOutputs uploaded at the end (S3UploadMode EndOfJob)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openmaker.engine import runtime
from openmaker.engine.executors import HostLaunch
from openmaker.engine.lifecycle import ClientError, Outcome, Run
from openmaker.engine.output import JobOutput
from openmaker.engine.s3io import S3Uri, upload_tree
from openmaker.engine.staging import Source, stage_s3
from openmaker.engine.workspace import (
    DEFAULT_INSTANCE,
    fresh_dir,
    host_names,
    processing_config,
    write_hosts_file,
)

PROCESSING_ROOT = "/opt/ml/processing/"


def _local(path: str, what: str) -> str:
    """The LocalPath relative to /opt/ml (SageMaker requires it under /opt/ml/processing)."""
    if not path.startswith(PROCESSING_ROOT) or ".." in Path(path).parts:
        raise ClientError(f"{what} LocalPath must be under {PROCESSING_ROOT} (got {path!r})")
    return path[len("/opt/ml/") :].rstrip("/")


class ProcessingRun(Run):
    kind = "ProcessingJob"
    log_group = "/aws/sagemaker/ProcessingJobs"

    @property
    def resources(self) -> dict[str, Any]:
        return (self.spec.get("ProcessingResources") or {}).get("ClusterConfig") or {}

    @property
    def instance_count(self) -> int:
        return max(1, int(self.resources.get("InstanceCount") or 1))

    def prepare(self) -> list[HostLaunch]:
        app = self.spec.get("AppSpecification") or {}
        hosts = host_names(self.instance_count)
        fresh_dir(self.dir)
        hosts_file = write_hosts_file(self.dir / "hosts", hosts)
        outputs = ((self.spec.get("ProcessingOutputConfig") or {}).get("Outputs")) or []
        workspaces = []
        for index, host in enumerate(hosts):
            workspace = fresh_dir(self.dir / host)
            for item in self.spec.get("ProcessingInputs") or []:
                self._stage_input(item, workspace, index, len(hosts))
            for item in outputs:
                s3 = item.get("S3Output")
                if s3:
                    (workspace / _local(s3.get("LocalPath", ""), "ProcessingOutput")).mkdir(
                        parents=True, exist_ok=True
                    )
            processing_config(
                workspace, host, hosts, self.resources.get("InstanceType") or DEFAULT_INSTANCE, self.spec
            )
            workspaces.append(workspace)
        prepared = runtime.prepare(
            app.get("ImageUri") or "",
            "process",
            self.state.settings.home,
            app.get("ContainerEntrypoint"),
            app.get("ContainerArguments"),
        )
        env = runtime.base_env(prepared, self.state)
        env["PROCESSING_JOB_NAME"] = self.name
        env.update({k: str(v) for k, v in (self.spec.get("Environment") or {}).items()})
        self.output = JobOutput(self.state.logs, self.state.metrics, self.log_group, self.name)
        network = (self.spec.get("NetworkConfig") or {}).get("EnableNetworkIsolation")
        return [
            HostLaunch(
                job_id=f"{self.kind}/{self.name}",
                host=host,
                hosts=hosts,
                argv=prepared.argv,
                env=dict(env),
                workspace=workspace,
                network_isolation=bool(network),
                expose=self.engine.exposed_paths(prepared),
                hide=[self.state.settings.home],
                hosts_file=hosts_file,
                cwd=prepared.workdir,
            )
            for host, workspace in zip(hosts, workspaces, strict=True)
        ]

    def _stage_input(self, item: dict, workspace: Path, index: int, count: int) -> None:
        name = item.get("InputName", "")
        s3 = item.get("S3Input")
        if not s3:
            raise ClientError(f"ProcessingInput {name!r}: only S3Input is supported (not DatasetDefinition)")
        source = Source(
            uri=s3.get("S3Uri", ""),
            data_type=s3.get("S3DataType") or "S3Prefix",
            distribution=s3.get("S3DataDistributionType") or "FullyReplicated",
            compression=s3.get("S3CompressionType") or "None",
            mode=s3.get("S3InputMode") or "File",
        )
        target = workspace / _local(s3.get("LocalPath", ""), f"ProcessingInput {name!r}")
        try:
            stage_s3(self.state.objects, source, target, index, count)
        except ClientError:
            raise
        except Exception as exc:
            raise ClientError(f"Data download failed for ProcessingInput {name!r}: {exc}") from exc

    def collect(self, outcome: Outcome) -> None:
        if outcome.failed is not None and outcome.stop is None:
            return
        outputs = ((self.spec.get("ProcessingOutputConfig") or {}).get("Outputs")) or []
        for item in outputs:
            s3 = item.get("S3Output")
            if not s3:
                continue
            rel = _local(s3.get("LocalPath", ""), "ProcessingOutput")
            for workspace in self.host_dirs():
                upload_tree(self.state.objects, workspace / rel, S3Uri.parse(s3.get("S3Uri", "")))

    def failure_file_text(self) -> str | None:
        return None

    def finish(self, outcome: Outcome | None, failure: str | None) -> None:
        fields: dict[str, Any] = {"end_time": datetime.now(UTC)}
        if failure is not None:
            status = "Failed"
            fields["failure_reason"] = failure
            fields["state"] = {"ExitMessage": (self.output.tail() if self.output else "")[:1024]}
        elif outcome is not None and outcome.stop == "MaxRuntimeExceeded":
            status = "Stopped"
            fields["state"] = {"ExitMessage": "Processing job stopped: it exceeded its MaxRuntimeInSeconds"}
        elif (outcome is not None and outcome.stop) or self.stop_reason:
            status = "Stopped"
        else:
            status = "Completed"
        self.update(status=status, **fields)
