"""The ``openmaker`` command: serve the APIs, print the environment clients need."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import typer
from rich.console import Console

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


if __name__ == "__main__":
    app()
