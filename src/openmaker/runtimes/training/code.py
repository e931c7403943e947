"""Finding the user's code and installing its ``requirements.txt``.

The engine normally stages the code (``OPENMAKER_CODE_DIR``) and prepares a cached environment with the
requirements already installed (it then sets ``OPENMAKER_REQUIREMENTS`` to their sha256). When it has
not, this module does what the toolkit does inside a container: download ``sagemaker_submit_directory``
(``s3://…/sourcedir.tar.gz``, a local directory, or a ``file://`` URL), extract it safely, and install the
requirements — into a job-local directory, never into the shared interpreter.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlparse

logger = logging.getLogger("openmaker-training")


class CodeError(Exception):
    """The code could not be found or prepared; the message is the job's failure reason."""


def locate_code(submit_directory: str | None, destination: Path) -> Path:
    """The directory holding the user's code, downloaded into ``destination`` when necessary."""
    staged = os.environ.get("OPENMAKER_CODE_DIR")
    if staged:
        return Path(staged)
    if not submit_directory:
        return Path.cwd()
    parsed = urlparse(submit_directory)
    if parsed.scheme == "s3":
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "sourcedir.tar.gz"
            _download_s3(parsed.netloc, parsed.path.lstrip("/"), archive)
            extract(archive, destination)
        return destination
    local = Path(parsed.path if parsed.scheme == "file" else submit_directory)
    if local.is_dir():
        return local
    if local.is_file():
        extract(local, destination)
        return destination
    raise CodeError(f"sagemaker_submit_directory {submit_directory!r} is not an S3 URI, a directory or an archive.")


def _download_s3(bucket: str, key: str, target: Path) -> None:
    import boto3  # only needed when the engine did not stage the code

    logger.info("Downloading s3://%s/%s", bucket, key)
    try:
        boto3.client("s3").download_file(bucket, key, str(target))
    except Exception as error:
        raise CodeError(f"Could not download the code from s3://{bucket}/{key}: {error}") from error


def extract(archive: Path, destination: Path) -> None:
    """Extract a tar archive refusing absolute paths, ``..``, devices and links out of the tree."""
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise CodeError(f"Could not extract the code archive {archive.name}: {error}") from error


def install_requirements(code_dir: Path, work_dir: Path) -> Path | None:
    """Install ``requirements.txt`` unless the engine's environment already has it.

    Returns the directory to put on ``sys.path``/``PYTHONPATH``, or None when nothing was installed.
    """
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return None
    text = requirements.read_text()
    if not text.strip() or os.environ.get("OPENMAKER_REQUIREMENTS") == hashlib.sha256(text.encode()).hexdigest():
        return None
    target = work_dir / "requirements-site"
    if target.exists():
        shutil.rmtree(target)
    command = _installer(requirements, target)
    logger.info("Installing dependencies from requirements.txt:\n\n%s\n", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise CodeError(
            f'InstallRequirementsError:\nExitCode {result.returncode}\nErrorMessage "{tail}"\nCommand "{" ".join(command)}"'
        )
    return target


def _installer(requirements: Path, target: Path) -> list[str]:
    try:
        import uv

        return [uv.find_uv_bin(), "pip", "install", "--python", sys.executable, "--target", str(target),
                "-r", str(requirements)]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-m", "pip", "install", "--target", str(target), "-r", str(requirements)]
