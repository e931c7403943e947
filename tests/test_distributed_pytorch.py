"""A 2-host PyTorch job on one machine: algo-1 and algo-2 rendezvous over torch.distributed (gloo)
and all-reduce, as a SageMaker PyTorch training job with InstanceCount=2 does."""

from __future__ import annotations

import io
import json
import tarfile

from enginehelp import training, wait

PYTORCH_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310"

ALL_REDUCE = """
import json, os
import torch
import torch.distributed as dist

hosts = json.loads(os.environ["SM_HOSTS"])
rank = hosts.index(os.environ["SM_CURRENT_HOST"])
dist.init_process_group("gloo", rank=rank, world_size=len(hosts))
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value, op=dist.ReduceOp.SUM)
print(f"rank {rank} of {len(hosts)} on {os.environ['SM_CURRENT_HOST']}: all-reduce = {value.item()}")
with open(os.path.join(os.environ["SM_MODEL_DIR"], f"rank-{rank}.json"), "w") as f:
    json.dump({"rank": rank, "sum": value.item(), "master": os.environ["MASTER_ADDR"]}, f)
dist.destroy_process_group()
"""


def test_two_host_gloo_all_reduce(server, s3, bucket) -> None:
    sm = server.client("sagemaker")
    params = training(s3, "torch-gloo-2hosts", bucket, ALL_REDUCE)
    params["AlgorithmSpecification"] = {"TrainingImage": PYTORCH_IMAGE, "TrainingInputMode": "File"}
    params["ResourceConfig"]["InstanceCount"] = 2
    params["StoppingCondition"]["MaxRuntimeInSeconds"] = 300
    sm.create_training_job(**params)
    job = wait(sm, "torch-gloo-2hosts", timeout=300)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")

    artifact = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{bucket}/")
    archive = s3.get_object(Bucket=bucket, Key=artifact)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = set(tar.getnames())
        # Every host saves to its own model dir; SageMaker uploads the model of algo-1.
        results = [json.load(tar.extractfile(name)) for name in sorted(names) if name.endswith(".json")]
    assert results and all(r["sum"] == 3.0 for r in results)

    logs = server.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="torch-gloo-2hosts/"
    )["logStreams"]
    assert {s["logStreamName"].split("/")[1].rsplit("-", 1)[0] for s in streams} == {"algo-1", "algo-2"}
    messages = []
    for stream in streams:
        events = logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True
        )["events"]
        messages += [e["message"] for e in events]
    assert any("rank 0 of 2 on algo-1: all-reduce = 3.0" in m for m in messages)
    assert any("rank 1 of 2 on algo-2: all-reduce = 3.0" in m for m in messages)
