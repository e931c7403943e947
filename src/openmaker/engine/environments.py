"""The Python environment a job or endpoint runs in.

Framework images in SageMaker each carry their own framework version. openmaker has one Python (the
interpreter running the server, with the ``all`` extra) and runs every framework version on it: old
tutorial scripts (scikit-learn 0.20, TF 1.12, MXNet 1.x, PyTorch 1.x) get a compatibility layer of import
shims on ``PYTHONPATH`` (``openmaker/runtimes/compat``). When a job brings a ``requirements.txt``, or a
PyTorch job needs torch that the base interpreter lacks, a virtualenv layered over the base interpreter
is built once with uv and cached under ``<home>/envs/<hash>``; the next job with the same inputs reuses it
without starting any process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from openmaker.engine.images import ImageSpec

TORCH_VERSION = "2.13.0"
# Where a CPU build of torch is looked for first (pip's --find-links). Installing torch from PyPI
# would pull gigabytes of CUDA libraries, so without a wheel here the CPU index of pytorch.org is used.
WHEELS_DIR = Path(os.environ.get("OPENMAKER_WHEELS", "/opt/wheels"))
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Bump when the way environments are built changes, so old caches are not reused.
RECIPE = "openmaker-env-1"
READY_MARKER = ".openmaker-ready"
COMPAT_DIR = Path(__file__).resolve().parents[1] / "runtimes" / "compat"
ERROR_TAIL_LINES = 25

_ready: dict[Path, Environment] = {}
_has_torch: dict[str, bool] = {}


class EnvironmentSetupError(Exception):
    """Building a job's environment failed; the message carries the installer's last lines."""


@dataclass(frozen=True)
class Environment:
    """The interpreter to start and the variables to add to the job's environment."""

    python: str
    bin_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, argv: list[str]) -> list[str]:
        """Point an entrypoint's ``python``/``python3``/``/usr/bin/python3`` at this environment."""
        if argv and Path(argv[0]).name in (
            "python",
            "python3",
            f"python{sys.version_info[0]}.{sys.version_info[1]}",
        ):
            return [self.python, *argv[1:]]
        return list(argv)


def ensure_environment(image: ImageSpec, home: Path, requirements: Path | None = None) -> Environment:
    """The environment for ``image``, building (once) the cached virtualenv it needs.

    Raises :class:`EnvironmentSetupError` when installing ``requirements`` or torch fails.
    """
    base = sys.executable
    requirements_text = (
        requirements.read_text() if requirements is not None and requirements.is_file() else ""
    )
    need_torch = image.framework == "pytorch" and not base_has_torch(base)
    if not requirements_text.strip() and not need_torch:
        return _environment(base, Path(base).parent, None, requirements_text)

    key = environment_key(base, requirements_text, need_torch)
    root = Path(home) / "envs"
    target = root / key
    cached = _ready.get(target)
    if cached is not None:
        return cached
    if not (target / READY_MARKER).exists():
        root.mkdir(parents=True, exist_ok=True)
        with _locked(root / f"{key}.lock"):
            if not (target / READY_MARKER).exists():
                _build(target, base, requirements_text, need_torch)
    environment = _environment(str(target / "bin" / "python"), target / "bin", target, requirements_text)
    _ready[target] = environment
    return environment


def environment_key(base: str, requirements_text: str, need_torch: bool) -> str:
    """Same base interpreter, same requirements, same extras -> same cached environment."""
    digest = hashlib.sha256()
    for part in (
        RECIPE,
        os.path.realpath(base),
        base,
        requirements_text,
        f"torch={need_torch and TORCH_VERSION}",
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def requirements_digest(requirements_text: str) -> str:
    """Tells the training runtime that these requirements are already installed (see OPENMAKER_REQUIREMENTS)."""
    return hashlib.sha256(requirements_text.encode()).hexdigest()


def base_has_torch(base: str) -> bool:
    """Whether ``import torch`` can work in the base interpreter (checked once per process)."""
    if base not in _has_torch:
        if os.path.realpath(base) == os.path.realpath(sys.executable):
            _has_torch[base] = importlib.util.find_spec("torch") is not None
        else:
            probe = subprocess.run([base, "-c", "import torch"], capture_output=True)
            _has_torch[base] = probe.returncode == 0
    return _has_torch[base]


def _environment(python: str, bin_dir: Path, venv: Path | None, requirements_text: str) -> Environment:
    env = {
        "PYTHONPATH": str(COMPAT_DIR),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONNOUSERSITE": "1",
    }
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
    if requirements_text.strip():
        env["OPENMAKER_REQUIREMENTS"] = requirements_digest(requirements_text)
    return Environment(python=python, bin_dir=bin_dir, env=env)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between threads and processes (the server and other servers on one home)."""
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _uv() -> str:
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
        raise EnvironmentSetupError("uv is not installed: `pip install uv` next to openmaker.") from None


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines()[-ERROR_TAIL_LINES:]
        raise EnvironmentSetupError(f"{what} failed (exit code {result.returncode}):\n" + "\n".join(lines))


def _build(target: Path, base: str, requirements_text: str, need_torch: bool) -> None:
    """Build in a temporary directory beside ``target`` and rename it into place when complete."""
    uv = _uv()
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".build-{target.name}-"))
    venv = work / "venv"
    try:
        _run(
            [uv, "venv", "--quiet", "--relocatable", "--system-site-packages", "--python", base, str(venv)],
            "Creating the job's Python environment",
        )
        _layer_over_base(venv, base)
        python = str(venv / "bin" / "python")
        if need_torch:
            _run(
                [uv, "pip", "install", "--python", python, *torch_requirement()],
                f"Installing torch {TORCH_VERSION}",
            )
        if requirements_text.strip():
            requirements = work / "requirements.txt"
            requirements.write_text(requirements_text)
            _run(
                [uv, "pip", "install", "--python", python, "-r", str(requirements)],
                "pip install -r requirements.txt",
            )
        (venv / READY_MARKER).write_text(base + "\n")
        if target.exists():  # a stale, unfinished directory from a crash
            shutil.rmtree(target)
        os.rename(venv, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def torch_requirement() -> list[str]:
    """uv arguments that install the CPU build of torch, never the CUDA one."""
    wheels = sorted(WHEELS_DIR.glob(f"torch-{TORCH_VERSION}+cpu-*.whl")) if WHEELS_DIR.is_dir() else []
    if wheels:
        return ["--find-links", str(WHEELS_DIR), f"torch=={TORCH_VERSION}+cpu"]
    return [
        "--index-url",
        TORCH_CPU_INDEX,
        "--extra-index-url",
        "https://pypi.org/simple",
        "--index-strategy",
        "first-index",
        f"torch=={TORCH_VERSION}",
    ]


def _layer_over_base(venv: Path, base: str) -> None:
    """Make the base interpreter's packages (and its .pth files, e.g. editable openmaker) visible.

    ``--system-site-packages`` reaches the *system* Python's site-packages, not those of a base
    interpreter that is itself a virtualenv (the usual case: openmaker's own ``.venv``). A ``.pth``
    file that calls ``site.addsitedir`` adds them after the environment's own packages, so anything
    ``requirements.txt`` installs takes precedence.
    """
    site_dirs = _site_dirs(base)
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    lines = [f"import site; site.addsitedir({str(path)!r})" for path in site_dirs]
    (site_packages / "_openmaker_base.pth").write_text("\n".join(lines) + "\n")


def _site_dirs(base: str) -> list[str]:
    if os.path.realpath(base) == os.path.realpath(sys.executable):
        paths = sysconfig.get_paths()
        dirs = [paths["purelib"], paths["platlib"]]
    else:
        code = "import sysconfig; p = sysconfig.get_paths(); print(p['purelib']); print(p['platlib'])"
        dirs = subprocess.run([base, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return list(dict.fromkeys(dirs))
