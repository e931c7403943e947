#!/usr/bin/env bash
# The main job: start openmaker on its embedded defaults and walk through what it serves, with boto3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh demo
exec .venv/bin/python -m openmaker.demo "$@"
