"""One module or package per AWS service; importing this package registers every handler."""

from openmaker.services import iam, logs, s3, sts  # noqa: F401
