"""SageMaker: one module per resource family; importing the package registers their handlers."""

from openmaker.services.sagemaker import processing, tags, training  # noqa: F401
