"""The ``openmaker`` command: serve the APIs, print the environment clients need."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import typer
from rich.console import Console

from openmaker.cli_capture import capture_app
from openmaker.cli_jobs import jobs_app, logs_command
from openmaker.cli_tuning import tuning_app
from openmaker.config import DEFAULT_HOST, DEFAULT_PORT, Settings, default_home
from openmaker.credentials import ensure_root_credentials
from openmaker.sdk import shim_path

app = typer.Typer(help="openmaker: SageMaker's APIs on your own machine.", no_args_is_help=True)
console = Console()

SDK_CONFIG = """SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      TelemetryOptOut: true
"""


def _settings(home: Path | None, **overrides) -> Settings:
    settings = Settings(home=home.expanduser()) if home else Settings()
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


def _sdk_config(home: Path) -> Path:
    path = home / "sagemaker-config.yaml"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(SDK_CONFIG)
    return path


def env_lines(settings: Settings) -> list[str]:
    """The ``export`` lines that point AWS clients and the SageMaker SDK at this server."""
    creds = ensure_root_credentials(settings.credentials_file)
    endpoint = settings.endpoint_url
    state = settings.home / "server.json"
    if state.exists():
        endpoint = json.loads(state.read_text()).get("endpoint_url", endpoint)
    return [
        f"export AWS_ENDPOINT_URL={endpoint}",
        f"export AWS_ACCESS_KEY_ID={creds.access_key_id}",
        f"export AWS_SECRET_ACCESS_KEY={creds.secret_access_key}",
        f"export AWS_DEFAULT_REGION={settings.region}",
        f"export SAGEMAKER_USER_CONFIG_OVERRIDE={_sdk_config(settings.home)}",
        # Makes the SageMaker SDK's STS client follow AWS_ENDPOINT_URL (see openmaker.sdk).
        f'export PYTHONPATH="{shim_path()}${{PYTHONPATH:+:$PYTHONPATH}}"',
    ]


@app.command()
def serve(
    host: str = typer.Option(DEFAULT_HOST, help="Address to listen on."),
    port: int = typer.Option(DEFAULT_PORT, envvar="OPENMAKER_PORT", help="Port for every service."),
    home: Path = typer.Option(None, envvar="OPENMAKER_HOME", help="Data directory (default ~/.openmaker)."),
    insecure: bool = typer.Option(False, help="Accept any credentials. For throw-away use only."),
    log_level: str = typer.Option("warning", help="Server log level."),
) -> None:
    """Serve S3, STS, IAM, CloudWatch Logs and SageMaker on one port."""
    import uvicorn

    from openmaker.server import OpenmakerApp

    settings = _settings(home, host=host, port=port, insecure=insecure or None)
    settings.home.mkdir(parents=True, exist_ok=True)
    creds = ensure_root_credentials(settings.credentials_file)
    (settings.home / "server.json").write_text(
        json.dumps({"endpoint_url": settings.endpoint_url, "pid": os.getpid()})
    )
    console.print(f"[bold]openmaker[/bold] serving on [cyan]{settings.endpoint_url}[/cyan]  (data: {settings.home})")
    console.print(f"  AWS_ENDPOINT_URL={settings.endpoint_url}")
    console.print(f"  AWS_ACCESS_KEY_ID={creds.access_key_id}")
    console.print(f"  AWS_SECRET_ACCESS_KEY={creds.secret_access_key}")
    console.print(f"  AWS_DEFAULT_REGION={settings.region}")
    console.print("  (eval \"$(openmaker env)\" exports all of these)")
    if settings.insecure:
        console.print("[yellow]--insecure: any credentials are accepted. Do not expose this server.[/yellow]")
    config = uvicorn.Config(
        OpenmakerApp(settings),
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=75,
        http="httptools",
        loop="uvloop",
    )
    server = uvicorn.Server(config)
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    server.run()


@app.command()
def env(
    home: Path = typer.Option(None, envvar="OPENMAKER_HOME", help="Data directory (default ~/.openmaker)."),
) -> None:
    """Print export lines for AWS_ENDPOINT_URL, the credentials, the region and the SDK's telemetry opt-out."""
    for line in env_lines(_settings(home or default_home())):
        typer.echo(line)


images_app = typer.Typer(help="Register your own images (there is no Docker: an image is a command).", no_args_is_help=True)
app.add_typer(images_app, name="images")


@images_app.command("add")
def images_add(
    name: str = typer.Argument(..., help="Image name or URI, e.g. my-algo:latest (account and region are ignored)."),
    entrypoint: str = typer.Option(..., help='Command that plays the ENTRYPOINT, e.g. "python3 train.py".'),
    workdir: Path = typer.Option(None, help="Directory the command runs in (the image's WORKDIR, its code)."),
    serve_entrypoint: str = typer.Option(None, help="Command for endpoints, if different from --entrypoint."),
    pass_role: bool = typer.Option(False, help='Append "train"/"serve" as Docker does for an ENTRYPOINT.'),
    home: Path = typer.Option(None, envvar="OPENMAKER_HOME", help="Data directory (default ~/.openmaker)."),
) -> None:
    """Register (or replace) a local image."""
    import shlex

    from openmaker.storage.images import ImageRegistry, RegisteredImage

    argv = shlex.split(entrypoint)
    if not argv:
        raise typer.BadParameter("--entrypoint must not be empty")
    image = RegisteredImage(
        name=name,
        entrypoint=argv,
        workdir=str(workdir.expanduser().resolve()) if workdir else None,
        serve_entrypoint=shlex.split(serve_entrypoint) if serve_entrypoint else None,
        pass_role=pass_role,
    )
    saved = ImageRegistry(_settings(home).home).add(image)
    typer.echo(f"registered {saved.name}: {shlex.join(saved.entrypoint)}")


@images_app.command("ls")
def images_ls(
    home: Path = typer.Option(None, envvar="OPENMAKER_HOME", help="Data directory (default ~/.openmaker)."),
) -> None:
    """List registered images."""
    import shlex

    from openmaker.storage.images import ImageRegistry

    for image in ImageRegistry(_settings(home).home).list():
        serve = f"  serve: {shlex.join(image.serve_entrypoint)}" if image.serve_entrypoint else ""
        workdir = f"  workdir: {image.workdir}" if image.workdir else ""
        typer.echo(f"{image.name}\t{shlex.join(image.entrypoint)}{workdir}{serve}")


@images_app.command("rm")
def images_rm(
    name: str = typer.Argument(..., help="Registered image name."),
    home: Path = typer.Option(None, envvar="OPENMAKER_HOME", help="Data directory (default ~/.openmaker)."),
) -> None:
    """Remove a registered image."""
    from openmaker.storage.images import ImageRegistry

    if not ImageRegistry(_settings(home).home).remove(name):
        typer.echo(f"no registered image named {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {name}")


# `openmaker jobs ls` and `openmaker logs`: API clients of the running server (see cli_jobs).
app.add_typer(jobs_app, name="jobs")
app.command("logs")(logs_command)
app.add_typer(capture_app, name="capture")
app.add_typer(tuning_app, name="tuning")


if __name__ == "__main__":
    app()
