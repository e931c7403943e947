"""Image URI resolution, with the URIs the SageMaker SDK really builds, and the local image registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from openmaker.engine.images import ImageSpec, UnknownImage, parse_tag, resolve_image
from openmaker.storage.images import ImageRegistry, RegisteredImage

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
PY = "/usr/bin/python3"


def sdk_uri(framework: str, version: str, py_version: str | None = None, scope: str = "training") -> str:
    from sagemaker import image_uris

    return image_uris.retrieve(
        framework,
        "us-east-1",
        version=version,
        instance_type="ml.m5.large",
        py_version=py_version,
        image_scope=scope,
    )


@pytest.mark.parametrize(
    ("framework", "version", "py_version", "expected"),
    [
        ("sklearn", "0.20.0", "py3", ("sklearn", "0.20.0", "py3")),
        ("sklearn", "1.2-1", "py3", ("sklearn", "1.2-1", "py3")),
        ("pytorch", "2.1", "py310", ("pytorch", "2.1", "py310")),
        ("xgboost", "1.7-1", None, ("xgboost", "1.7-1", None)),
        ("tensorflow", "1.12", "py3", ("tensorflow", "1.12", "py3")),
        ("mxnet", "1.2.1", "py3", ("mxnet", "1.2.1", "py3")),
        ("mxnet", "1.9.0", "py38", ("mxnet", "1.9.0", "py38")),
    ],
)
def test_framework_images_from_the_sdk(tmp_path: Path, framework, version, py_version, expected) -> None:
    uri = sdk_uri(framework, version, py_version)
    spec = resolve_image(uri, tmp_path)
    assert spec.kind == "framework"
    assert (spec.framework, spec.framework_version, spec.py_version) == expected
    assert spec.uri == uri
    assert spec.command("train", PY) == [PY, "-m", "openmaker.runtimes.training"]
    assert spec.command("serve", PY) == [PY, "-m", "openmaker.runtimes.serving"]


def test_inference_images_serve(tmp_path: Path) -> None:
    spec = resolve_image(sdk_uri("pytorch", "2.1", "py310", scope="inference"), tmp_path)
    assert spec.repository == "pytorch-inference" and spec.framework == "pytorch"
    assert spec.command("serve", PY) == [PY, "-m", "openmaker.runtimes.serving"]


def test_sagemaker_xgboost_is_script_mode_or_the_builtin(tmp_path: Path) -> None:
    spec = resolve_image(sdk_uri("xgboost", "1.7-1"), tmp_path)
    assert spec.kind == "framework" and spec.algorithm == "xgboost"
    script = {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"s3://b/k"'}
    assert spec.command("train", PY, script) == [PY, "-m", "openmaker.runtimes.training"]
    assert spec.command("train", PY, {"num_round": "50"}) == [
        PY,
        "-m",
        "openmaker.runtimes.algorithms",
        "xgboost",
    ]
    assert (
        spec.command("serve", PY, {"SAGEMAKER_PROGRAM": "inference.py"})[-1] == "openmaker.runtimes.serving"
    )
    assert spec.runtime_env()["OPENMAKER_ALGORITHM"] == "xgboost"


@pytest.mark.parametrize(
    "algorithm",
    [
        "xgboost",
        "linear-learner",
        "kmeans",
        "factorization-machines",
        "pca",
        "knn",
        "blazingtext",
        "image-classification",
        "object-detection",
        "lda",
        "ntm",
        "randomcutforest",
        "forecasting-deepar",
    ],
)
def test_builtin_algorithms_from_the_sdk(tmp_path: Path, algorithm: str) -> None:
    from sagemaker import image_uris

    uri = image_uris.retrieve(algorithm, "us-east-1", version="1")
    spec = resolve_image(uri, tmp_path)
    assert (spec.kind, spec.algorithm) == ("builtin", algorithm)
    assert spec.command("train", PY) == [PY, "-m", "openmaker.runtimes.algorithms", algorithm]


@pytest.mark.parametrize(
    ("uri", "algorithm"),
    [
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "xgboost"),
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest", "xgboost"),
        ("382416733822.dkr.ecr.us-west-2.amazonaws.com/linear-learner:1", "linear-learner"),
        ("664544806723.dkr.ecr.eu-central-1.amazonaws.com/kmeans:latest", "kmeans"),
        (
            "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/factorization-machines:1",
            "factorization-machines",
        ),
        ("blazingtext:1", "blazingtext"),
    ],
)
def test_v1_legacy_forms(tmp_path: Path, uri: str, algorithm: str) -> None:
    spec = resolve_image(uri, tmp_path)
    assert (spec.kind, spec.algorithm) == ("builtin", algorithm)


def test_bare_and_regionless_framework_names(tmp_path: Path) -> None:
    spec = resolve_image("sagemaker-scikit-learn:1.2-1-cpu-py3", tmp_path)
    assert (spec.kind, spec.framework, spec.framework_version) == ("framework", "sklearn", "1.2-1")
    other = resolve_image(
        "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3", tmp_path
    )
    assert (other.framework, other.framework_version) == ("sklearn", "1.2-1")
    dlc = resolve_image(
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310-ubuntu20.04-sagemaker",
        tmp_path,
    )
    assert (dlc.framework_version, dlc.py_version) == ("2.1.0", "py310")


def test_parse_tag() -> None:
    assert parse_tag("0.20.0-cpu-py3") == ("0.20.0", "py3")
    assert parse_tag("1.2-1-cpu-py3") == ("1.2-1", "py3")
    assert parse_tag("1.7-1") == ("1.7-1", None)
    assert parse_tag("latest") == (None, None)
    assert parse_tag(None) == (None, None)


def test_unknown_image_needs_an_entrypoint(tmp_path: Path) -> None:
    spec = resolve_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/my-team/secret-algo:3", tmp_path)
    assert (spec.kind, spec.entrypoint, spec.repository, spec.tag) == (
        "byo",
        None,
        "my-team/secret-algo",
        "3",
    )
    assert spec.command("train", PY) is None
    with pytest.raises(UnknownImage) as error:
        spec.require_command("train", PY)
    message = str(error.value)
    assert "openmaker images add my-team/secret-algo" in message and "ContainerEntrypoint" in message


@pytest.mark.parametrize("uri", ["", "   ", "not an image"])
def test_malformed_uris_are_refused(tmp_path: Path, uri: str) -> None:
    with pytest.raises(UnknownImage, match="not an image URI"):
        resolve_image(uri, tmp_path)


def test_registered_byo_image(tmp_path: Path) -> None:
    registry = ImageRegistry(tmp_path)
    registry.add(
        RegisteredImage(
            name="123.dkr.ecr.us-east-1.amazonaws.com/my-algo",
            entrypoint=["python3", "train.py"],
            workdir="/srv/my-algo",
            serve_entrypoint=["python3", "serve.py"],
        )
    )
    spec = resolve_image("999999999999.dkr.ecr.eu-west-1.amazonaws.com/my-algo:2.0", tmp_path)
    assert isinstance(spec, ImageSpec) and spec.kind == "byo"
    assert spec.command("train", PY) == ["python3", "train.py"]
    assert spec.command("serve", PY) == ["python3", "serve.py"]
    assert spec.workdir == "/srv/my-algo"
    # A tag-specific registration wins, and registration can shadow even a known name.
    registry.add(RegisteredImage(name="my-algo:2.0", entrypoint=["./run"], pass_role=True))
    assert resolve_image("my-algo:2.0", tmp_path).command("train", PY) == ["./run", "train"]
    assert resolve_image("my-algo:1.0", tmp_path).command("train", PY) == ["python3", "train.py"]
    assert registry.remove("my-algo:2.0") and not registry.remove("my-algo:2.0")
    assert [image.name for image in registry.list()] == ["my-algo"]


def test_images_cli(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "openmaker", "images"]
    env = {**os.environ, "OPENMAKER_HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args], env=env, capture_output=True, text=True)

    added = run("add", "my-byo:latest", "--entrypoint", "python3 train.py --fast", "--workdir", str(tmp_path))
    assert added.returncode == 0, added.stderr
    listed = run("ls")
    assert "my-byo:latest" in listed.stdout and "python3 train.py --fast" in listed.stdout
    spec = resolve_image("111122223333.dkr.ecr.us-east-1.amazonaws.com/my-byo:latest", tmp_path)
    assert spec.command("train", PY) == ["python3", "train.py", "--fast"] and spec.workdir == str(tmp_path)
    assert run("rm", "my-byo:latest").returncode == 0
    assert run("rm", "my-byo:latest").returncode == 1
    assert resolve_image("my-byo:latest", tmp_path).entrypoint is None
