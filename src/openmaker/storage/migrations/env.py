"""Alembic environment: migrations run on the connection the server hands over (see Database.migrate)."""

from alembic import context
from sqlalchemy import create_engine

from openmaker.storage.schemas import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(
            config.attributes.get("connection_url") or config.get_main_option("sqlalchemy.url")
        )
        with engine.begin() as connection:
            _migrate(connection)
        return
    _migrate(connection)


def _migrate(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
