#!/usr/bin/env bash
# Set up (first time) and run the whole test suite on the CPU, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "[test]"
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest -q "$@"
