#!/usr/bin/env bash
# Set up (first time) and run the whole test suite on the CPU, offline. Then, for a full run
# (no arguments), tests/engine once more on the newest transformers of pyproject's range: the
# releases of requirements/transformers-next.txt installed into .venv-tf-next (no deps: all
# else comes from .venv) and put in front of .venv with PYTHONPATH. CAPTION_STUDIO_TF_NEXT=0
# skips that second run, =1 runs it after a partial run too (with its arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "[test]"
export QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
status=0
.venv/bin/python -m pytest -q "$@" || status=$?

next=${CAPTION_STUDIO_TF_NEXT:-}
if [ "$next" = 0 ] || { [ $# -gt 0 ] && [ "$next" != 1 ]; }; then
    exit "$status"
fi
overlay=.venv-tf-next
pins=$(grep -v '^\s*#' requirements/transformers-next.txt | xargs)
if [ "$(cat "$overlay/.pins" 2>/dev/null)" != "$pins" ]; then
    rm -rf "$overlay"
    # pip reaches the package index here (HF_HUB_OFFLINE only concerns the model hub).
    .venv/bin/python -m pip install -q --no-deps --target "$overlay" $pins
    echo "$pins" > "$overlay/.pins"
fi
export PYTHONPATH="$PWD/$overlay${PYTHONPATH:+:$PYTHONPATH}"
version=$(.venv/bin/python -c "import transformers; print(transformers.__version__)")
echo "tests/engine on transformers $version ($overlay)"
# Deselected there: test_hub's fake hub speaks httpx, while huggingface-hub 2.x (which
# transformers 5.25 needs) sends through httpx2, so the fake's 404 never becomes
# RepositoryNotFoundError (docs/transformers-versions.md, "huggingface-hub 2.x").
# And tests/engine/test_qwen35.py: from 5.18 AutoTokenizer builds Qwen3_5Tokenizer for qwen3_5
# (ignoring tokenizer_config's Qwen2Tokenizer), and the Qwen3.5 fixtures' tokenizers then put no
# <|image_pad|> id in the prompt ("Image features and image tokens do not match, tokens: 0"):
# issue 18 has to make the fixtures (and the loader) right for 5.18+ first.
echo "tests/engine/test_qwen35.py is left out on $version: its fixtures' tokenizers do not load as Qwen3_5Tokenizer (issue 18)"
.venv/bin/python -m pytest -q -p no:cacheprovider \
    --deselect tests/engine/test_hub.py::test_unreachable_hub_missing_repo_and_full_disk \
    --ignore tests/engine/test_qwen35.py \
    "${@:-tests/engine}" || status=$?
exit "$status"
