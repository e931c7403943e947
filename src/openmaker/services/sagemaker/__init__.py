"""SageMaker: one module per resource family; importing the package registers their handlers."""

from openmaker.services.sagemaker import (  # noqa: F401
    endpoint_configs,
    endpoints,
    models,
    processing,
    tags,
    training,
    transform,
    tuning,
)
