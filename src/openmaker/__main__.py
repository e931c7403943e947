from openmaker.cli import app

app()
