#!/usr/bin/env bash
# Build Caption Studio's one-folder bundle with PyInstaller: dist/caption-studio/.
#
#   bash scripts/build_installer.sh            # Linux: set up .venv, build, run the smoke test
#
# Environment:
#   CAPTION_STUDIO_DEBUG_CONSOLE=1   keep a console window (Windows/macOS) to see output/tracebacks
#   CAPTION_STUDIO_BUNDLE_CUDA=1|0|auto   bundle all of torch's NVIDIA wheels and triton (1), only
#                                    the libraries torch links against (0), or decide by whether a
#                                    GPU is visible at build time (auto, the default)
#   SKIP_SMOKE=1                     do not run the bundle's --smoke-test after the build
#
# Windows (PowerShell, Python 3.11 x64; build on Windows, PyInstaller does not cross-compile):
#   py -3.11 -m venv .venv; .venv\Scripts\Activate.ps1
#   # NVIDIA users: a CUDA build of torch first (pick the CUDA version for the driver), e.g.
#   pip install torch torchvision --index-url https://download.pytorch.org/whl/cu128
#   # (CPU only: --index-url https://download.pytorch.org/whl/cpu, a much smaller bundle)
#   pip install -e . pyinstaller
#   $env:CAPTION_STUDIO_BUNDLE_CUDA="1"; pyinstaller --noconfirm --clean build_installer.spec
#   dist\caption-studio\caption-studio.exe --smoke-test
#   # (the windowed exe has no console: build once with CAPTION_STUDIO_DEBUG_CONSOLE=1 to see
#   # the smoke test's output; its exit code is the verdict either way)
#   # Installer: zip dist\caption-studio, or point Inno Setup / NSIS at that folder.
#
# macOS (Apple silicon; torch uses MPS, no CUDA):
#   python3.11 -m venv .venv && . .venv/bin/activate
#   pip install torch torchvision && pip install -e . pyinstaller
#   pyinstaller --noconfirm --clean build_installer.spec   # also makes "dist/Caption Studio.app"
#   dist/caption-studio/caption-studio --smoke-test
#   # Sign and notarize the .app (codesign --deep, xcrun notarytool) before shipping a .dmg.
#
# Linux with NVIDIA GPUs: the PyPI torch wheel is a CUDA build; CAPTION_STUDIO_BUNDLE_CUDA=1
# bundles cuDNN and the rest (about 3 GB more). A CPU-only bundle is smaller still from the CPU
# wheel: pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
. .venv/bin/activate
if ! python -c "import PyInstaller" 2>/dev/null; then
    python -m pip install -q "pyinstaller>=6.11"
fi

started=$(date +%s)
python -m PyInstaller --noconfirm --clean --log-level WARN build_installer.spec
elapsed=$(( $(date +%s) - started ))

bundle=dist/caption-studio
# A .desktop entry and the icon beside the bundle, for Linux menus (copy to ~/.local/share/...).
if [ "$(uname -s)" = "Linux" ]; then
    cat > "$bundle/caption-studio.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Caption Studio
Comment=Caption folders of images locally with Qwen3-VL
Exec=$(pwd)/$bundle/caption-studio %F
Icon=$(pwd)/$bundle/_internal/resources/app-icon-256.png
Categories=Graphics;Utility;
Terminal=false
EOF
fi
size=$(du -sh "$bundle" | cut -f1)
echo "built $bundle ($size) in ${elapsed} s"

if [ "${SKIP_SMOKE:-0}" != "1" ]; then
    QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} "$bundle/caption-studio" --smoke-test
fi
