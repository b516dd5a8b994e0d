#!/usr/bin/env bash
# Set up (first time) and run Caption Studio: no arguments opens the window,
# `scripts/run.sh caption FOLDER ...` runs the headless command line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m desktop_app "$@"
