"""One module or package per AWS service; importing this package registers every handler."""

from openmaker.services import cloudwatch, iam, logs, runtime, s3, sagemaker, sts  # noqa: F401
