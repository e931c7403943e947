"""Every table module, imported so ``metadata`` describes the whole schema (Alembic's target)."""

from openmaker.storage import iam_schema, jobs_schema, logs_schema, metrics_schema, objects_schema  # noqa: F401
from openmaker.storage.db import Base

metadata = Base.metadata
