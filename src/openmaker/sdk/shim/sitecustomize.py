"""Put this directory on PYTHONPATH to make the SageMaker SDK follow AWS_ENDPOINT_URL for STS."""

try:
    import openmaker.sdk  # noqa: F401  (installs the import hook; cheap, imports no SDK module)
except ImportError:
    pass
