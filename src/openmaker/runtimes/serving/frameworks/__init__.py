"""Framework defaults, one module per SageMaker serving container (imported only when that framework serves)."""
