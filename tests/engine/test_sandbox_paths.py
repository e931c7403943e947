"""The sandbox hides /tmp, /opt and the server's home; whatever a job's Python needs there must be
re-exposed (a project checked out under /tmp, as CI's may be, once broke every sandboxed job)."""

from __future__ import annotations

from pathlib import Path

from openmaker.engine.engine import _hidden_part, _outermost
from openmaker.engine.executors.base import HostLaunch
from openmaker.engine.executors.sandbox import SandboxExecutor


def test_paths_under_hidden_places_are_exposed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "envs" / "abc").mkdir(parents=True)
    venv = Path("/tmp") / tmp_path.name / "repo" / ".venv"
    venv.mkdir(parents=True, exist_ok=True)
    assert _hidden_part(home / "envs" / "abc" / "bin" / "python", home) == [home / "envs"]
    assert _hidden_part(home / "objects" / "blob", home) == []  # server data stays hidden
    assert _hidden_part(venv, home) == [venv]
    assert _hidden_part(Path("/usr/bin/python3"), home) == []


def test_exposures_come_after_every_tmpfs(tmp_path: Path) -> None:
    spec = HostLaunch(
        job_id="TrainingJob/x",
        host="algo-1",
        hosts=["algo-1"],
        argv=["/tmp/repo/.venv/bin/python", "-c", "pass"],
        env={},
        workspace=tmp_path,
        expose=[Path("/tmp/repo/.venv"), Path("/opt/project/src")],
        hide=[tmp_path / "home"],
    )
    cmd = SandboxExecutor("bwrap").command(spec)
    last_tmpfs = max(i for i, arg in enumerate(cmd) if arg == "--tmpfs")
    first_expose = cmd.index("--ro-bind-try")
    assert first_expose > last_tmpfs
    assert cmd.index("/opt/ml") > first_expose  # the workspace is mounted last


def test_exposures_are_outermost_directories(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    other = tmp_path / "src"
    other.mkdir()
    assert _outermost({venv, venv / "bin", venv / "bin" / "python", other}) == [venv, other]
    assert _outermost({venv / "bin" / "python"}) == [venv / "bin"]
