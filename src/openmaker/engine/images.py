"""Image URI -> what to run.

openmaker runs no containers, so an image URI is only a name for a runtime. SageMaker's SDK builds URIs
offline as ``<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>``; account and region differ per
region and per framework, so the mapping is on repository and tag alone:

- framework images (scikit-learn, XGBoost in script mode, PyTorch, TensorFlow, MXNet, with their legacy
  repository names) run the user's script under ``openmaker.runtimes.training`` / ``.serving``;
- built-in algorithm images run ``openmaker.runtimes.algorithms <algorithm>``;
- images registered with ``openmaker images add`` run their registered entrypoint ("byo");
- anything else is "byo" without an entrypoint: the job must give ``ContainerEntrypoint``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from openmaker.storage.images import ImageRegistry, split_image_name

Kind = Literal["framework", "builtin", "byo"]
Role = Literal["train", "serve", "process"]

# repository -> framework. Both the Deep Learning Containers names and the older SageMaker ones.
FRAMEWORK_REPOSITORIES: dict[str, str] = {
    "sagemaker-scikit-learn": "sklearn",
    "sagemaker-xgboost": "xgboost",
    "pytorch-training": "pytorch",
    "pytorch-inference": "pytorch",
    "sagemaker-pytorch": "pytorch",
    "tensorflow-training": "tensorflow",
    "tensorflow-inference": "tensorflow",
    "sagemaker-tensorflow": "tensorflow",
    "sagemaker-tensorflow-scriptmode": "tensorflow",
    "sagemaker-tensorflow-serving": "tensorflow",
    "mxnet-training": "mxnet",
    "mxnet-inference": "mxnet",
    "sagemaker-mxnet": "mxnet",
    "sagemaker-mxnet-serving": "mxnet",
}

# Built-in algorithm repositories (SDK v1 and v2 use the same names) -> algorithm name.
BUILTIN_REPOSITORIES: dict[str, str] = {
    name: name
    for name in (
        "xgboost",
        "linear-learner",
        "kmeans",
        "factorization-machines",
        "pca",
        "knn",
        "blazingtext",
        "image-classification",
        "object-detection",
        "semantic-segmentation",
        "seq2seq",
        "lda",
        "ntm",
        "randomcutforest",
        "ipinsights",
        "object2vec",
        "forecasting-deepar",
    )
}

PROCESSORS = ("cpu", "gpu", "inf", "inf1", "inf2", "neuron", "neuronx", "trn1")
_PY_VERSION = re.compile(r"^py\d+$")

RUNTIME_MODULES: dict[str, str] = {
    "train": "openmaker.runtimes.training",
    "serve": "openmaker.runtimes.serving",
}
ALGORITHMS_MODULE = "openmaker.runtimes.algorithms"


class UnknownImage(Exception):
    """An image openmaker cannot run; the message says what the user can do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageSpec:
    """What an image URI stands for, and the command that plays its container's part."""

    uri: str
    repository: str
    tag: str | None
    kind: Kind
    framework: str | None = None
    framework_version: str | None = None
    py_version: str | None = None
    algorithm: str | None = None
    entrypoint: list[str] | None = None
    serve_entrypoint: list[str] | None = None
    workdir: str | None = None
    pass_role: bool = False

    def command(
        self, role: Role, python: str, job_config: Mapping[str, str] | None = None
    ) -> list[str] | None:
        """The argv to start for ``role``, or None when the job itself must give one.

        ``job_config`` is the job's hyperparameters (train) or the container's Environment (serve):
        for ``sagemaker-xgboost`` it decides between script mode (``sagemaker_program`` /
        ``SAGEMAKER_PROGRAM`` present) and the built-in algorithm. Without it, script mode is
        assumed and the training runtime itself falls back to the algorithm when no program is set.
        """
        if self.kind == "byo":
            if role == "serve" and self.serve_entrypoint:
                return list(self.serve_entrypoint)
            if not self.entrypoint:
                return None
            return [*self.entrypoint, role] if self.pass_role and role != "process" else list(self.entrypoint)
        if role == "process":
            return None  # Processing jobs with SageMaker images name their script in ContainerEntrypoint.
        if role == "serve":
            # One model server for every SageMaker image: it picks its handlers from
            # OPENMAKER_FRAMEWORK / OPENMAKER_ALGORITHM (see runtime_env()).
            return [python, "-m", RUNTIME_MODULES[role]]
        if self.kind == "builtin" or (job_config is not None and self.uses_builtin(job_config)):
            return [python, "-m", ALGORITHMS_MODULE, self.algorithm or self.repository]
        return [python, "-m", RUNTIME_MODULES[role]]

    def uses_builtin(self, job_config: Mapping[str, str]) -> bool:
        """True when a dual-mode image (``sagemaker-xgboost``) runs its built-in algorithm."""
        if self.kind == "builtin":
            return True
        if self.algorithm is None:
            return False
        return not any(job_config.get(key) for key in ("sagemaker_program", "SAGEMAKER_PROGRAM"))

    def require_command(
        self, role: Role, python: str, job_config: Mapping[str, str] | None = None
    ) -> list[str]:
        """Like :meth:`command`, but raises :class:`UnknownImage` with advice when there is none."""
        argv = self.command(role, python, job_config)
        if argv is None:
            raise UnknownImage(self.no_command_message(role))
        return argv

    def no_command_message(self, role: Role) -> str:
        if self.kind != "byo":
            return (
                f"Image {self.uri} has no default {role} command in openmaker: give the script to run "
                'in the job\'s ContainerEntrypoint (for example ["python3", "/opt/ml/processing/input/code/run.py"]).'
            )
        return (
            f"openmaker cannot run image {self.uri}: it is not a SageMaker framework or built-in algorithm "
            "image openmaker knows, and it is not registered locally (openmaker runs no Docker). Either "
            f'register it with: openmaker images add {self.repository} --entrypoint "python3 train.py" '
            "--workdir /path/to/code, or give the job an explicit ContainerEntrypoint."
        )

    def runtime_env(self) -> dict[str, str]:
        """Variables that tell the runtime which image it plays (it cannot see the URI otherwise)."""
        env = {"OPENMAKER_IMAGE_URI": self.uri, "OPENMAKER_IMAGE_KIND": self.kind}
        for key, value in (
            ("OPENMAKER_FRAMEWORK", self.framework),
            ("OPENMAKER_FRAMEWORK_VERSION", self.framework_version),
            ("OPENMAKER_ALGORITHM", self.algorithm),
        ):
            if value:
                env[key] = value
        return env


def parse_tag(tag: str | None) -> tuple[str | None, str | None]:
    """``1.2-1-cpu-py3`` -> ("1.2-1", "py3"); ``2.1-cpu-py310-ubuntu20.04`` -> ("2.1", "py310").

    The version is everything before the processor token (cpu, gpu, ...); a tag without one
    (``1.7-1``, ``1``) is all version.
    """
    if not tag or tag == "latest":
        return None, None
    parts = tag.split("-")
    py_version = next((part for part in parts if _PY_VERSION.match(part)), None)
    for index, part in enumerate(parts):
        if part in PROCESSORS or _PY_VERSION.match(part):
            return "-".join(parts[:index]) or None, py_version
    return tag, py_version


def resolve_image(uri: str, home: Path) -> ImageSpec:
    """Map an image URI to an :class:`ImageSpec`; local registrations win over the built-in table."""
    if not isinstance(uri, str) or not uri.strip() or any(ch.isspace() for ch in uri.strip()):
        raise UnknownImage(
            f"{uri!r} is not an image URI: expected <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> "
            "or a name registered with `openmaker images add`."
        )
    uri = uri.strip()
    _, repository, tag = split_image_name(uri)
    if not repository:
        raise UnknownImage(f"{uri!r} has no repository name.")

    registered = ImageRegistry(home).get(uri)
    if registered is not None:
        return ImageSpec(
            uri=uri,
            repository=repository,
            tag=tag,
            kind="byo",
            entrypoint=list(registered.entrypoint),
            serve_entrypoint=registered.serve_entrypoint,
            workdir=registered.workdir,
            pass_role=registered.pass_role,
        )

    base = repository.rsplit("/", 1)[-1]
    version, py_version = parse_tag(tag)
    if base in FRAMEWORK_REPOSITORIES:
        framework = FRAMEWORK_REPOSITORIES[base]
        return ImageSpec(
            uri=uri,
            repository=repository,
            tag=tag,
            kind="framework",
            framework=framework,
            framework_version=version,
            py_version=py_version,
            # sagemaker-xgboost is also the built-in XGBoost when no script is given.
            algorithm="xgboost" if framework == "xgboost" else None,
        )
    if base in BUILTIN_REPOSITORIES:
        return ImageSpec(
            uri=uri,
            repository=repository,
            tag=tag,
            kind="builtin",
            algorithm=BUILTIN_REPOSITORIES[base],
            framework_version=version,
        )
    return ImageSpec(uri=uri, repository=repository, tag=tag, kind="byo")
