"""openmaker: a self-hosted machine-learning platform that speaks the Amazon SageMaker APIs."""

__version__ = "0.1.0"
