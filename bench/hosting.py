"""InvokeEndpoint's hop: p50/p99 through openmaker compared with calling the model server directly.

    .venv/bin/python bench/hosting.py [--calls 2000]

Starts its own server (temp data directory, loopback, SigV4 on), deploys the tests' tiny BYO model
server, and measures sequential calls with one keep-alive client each way: (a) boto3
``invoke_endpoint`` through openmaker, (b) ``http.client`` POST /invocations to a second copy of the
same model server started directly. The difference is what openmaker adds (SigV4 check, parsing,
routing, the async hop, serialization).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from openmaker.storage.images import ImageRegistry, RegisteredImage
from serverutil import free_port, start_server
from test_hosting import IMAGE, ROLE, SERVER, model_tar


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99)] * 1000
    return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        server = start_server(home)
        direct = None
        try:
            argv = [sys.executable, "-c", SERVER]
            ImageRegistry(home).add(RegisteredImage(IMAGE, argv, serve_entrypoint=argv))
            s3, sm, rt = server.client("s3"), server.client("sagemaker"), server.client("sagemaker-runtime")
            s3.create_bucket(Bucket="bench")
            s3.put_object(Bucket="bench", Key="m.tar.gz", Body=model_tar("bench"))
            sm.create_model(
                ModelName="bench",
                ExecutionRoleArn=ROLE,
                PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench/m.tar.gz"},
            )
            sm.create_endpoint_config(
                EndpointConfigName="bench",
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "bench",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            )
            sm.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
            while sm.describe_endpoint(EndpointName="bench")["EndpointStatus"] != "InService":
                time.sleep(0.1)
            body = b"1.0,2.0,3.0"
            through = []
            for _ in range(100):
                rt.invoke_endpoint(EndpointName="bench", Body=body, ContentType="text/csv")["Body"].read()
            for _ in range(args.calls):
                started = time.perf_counter()
                rt.invoke_endpoint(EndpointName="bench", Body=body, ContentType="text/csv")["Body"].read()
                through.append(time.perf_counter() - started)

            opt_ml = Path(tmp) / "direct"
            (opt_ml / "model").mkdir(parents=True)
            (opt_ml / "model" / "answer.txt").write_text("bench")
            port = free_port()
            env = dict(os.environ, OPENMAKER_OPT_ML=str(opt_ml), SAGEMAKER_BIND_TO_PORT=str(port))
            direct = subprocess.Popen(argv, env=env)
            connection = http.client.HTTPConnection("127.0.0.1", port)
            for _ in range(200):
                try:
                    connection.request("GET", "/ping")
                    connection.getresponse().read()
                    break
                except OSError:
                    connection.close()
                    time.sleep(0.05)
            straight = []
            for index in range(args.calls + 100):
                started = time.perf_counter()
                connection.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
                connection.getresponse().read()
                if index >= 100:
                    straight.append(time.perf_counter() - started)
            print(f"through openmaker (boto3): {percentiles(through)}")
            print(f"model server directly:     {percentiles(straight)}")
            print(
                f"added by openmaker (p50):  {(statistics.median(through) - statistics.median(straight)) * 1000:.3f} ms"
            )
        finally:
            if direct is not None:
                direct.terminate()
                direct.wait()
            server.stop()


if __name__ == "__main__":
    main()
