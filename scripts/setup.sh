#!/usr/bin/env bash
# Create .venv and install Caption Studio into it (idempotent; a second run installs nothing).
# torch/torchvision are installed first from requirements/torch.txt so that pip keeps that
# pair and never downloads a multi-GB build for the ranges in pyproject.toml; transformers is
# held to requirements/transformers.txt (the oldest release of pyproject's range).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.caption-studio-installed
want="$(cat pyproject.toml requirements/torch.txt requirements/transformers.txt | sha1sum | cut -d' ' -f1)${1:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    python -m pip install -q --upgrade pip
    python -m pip install -q -r requirements/torch.txt
    # transformers: pyproject gives users a range; here the oldest release of it (tested).
    python -m pip install -q -e ".${1:-}" -c requirements/transformers.txt
    echo "$want" > "$stamp"
fi
# Qt needs a few system libraries even offscreen; install them where they are missing.
if ! python -c "from PySide6 import QtGui" 2>/dev/null && command -v apt-get >/dev/null; then
    echo "installing the system libraries Qt needs" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 \
        libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
        libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libglib2.0-0 \
        fonts-dejavu-core fonts-wqy-zenhei >/dev/null
fi
# The Chinese UI needs a CJK font (without one its text shows as boxes).
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh family)" ] && command -v apt-get >/dev/null; then
    echo "installing a CJK font for the Chinese UI" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -qq fonts-wqy-zenhei >/dev/null || echo "warning: no CJK font installed" >&2
fi
# The UI translations: resources/i18n/*.ts -> .qm (not in git; the app also compiles them on demand).
python -m desktop_app.ui.i18n >/dev/null || echo "warning: translations not compiled (the app retries at start)" >&2
