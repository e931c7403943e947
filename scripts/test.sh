#!/usr/bin/env bash
# The test suite: real servers, real clients (boto3, the AWS CLI, s3fs, the SageMaker SDK).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
source scripts/_venv.sh dev,all
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
