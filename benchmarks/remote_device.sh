#!/usr/bin/env bash
# One device call: `serve` + RemoteEngine against the local engine on a GPU, with a Qwen3-VL-2B
# of the true size and random bf16 weights saved to disk (so `serve` can load it). Carry .whl
# (fastapi, uvicorn, httpx and their dependencies; pydantic_core for cp310-313). Logs and JSON
# go to $OUT.
set -u
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
OUT=${OUT:-/tmp/caption-remote-out}; mkdir -p "$OUT"
for w in .whl/*.whl; do  # the wheels for other Python versions are refused: that is fine
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$w" 2>/dev/null
done
export PYTHONPATH=/tmp/site:.
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  python3 -c "import sys, torch, transformers, fastapi, uvicorn, httpx; print(sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, 'fastapi', fastapi.__version__)"
} 2>&1 | tee "$OUT/env.txt"
timeout 120 python3 - <<'PY' 2>&1 | grep -v -e "Loading weights" -e "Writing model" | tee "$OUT/build.log"
import sys, time, torch
from pathlib import Path
from benchmarks.throughput import random_weight_model
from desktop_app.testing.tiny_model import build_tiny_model
start = time.time()
tiny = build_tiny_model(Path("/tmp/tiny"))
loaded = random_weight_model("2B", torch.device("cuda"), tiny)
loaded.model.save_pretrained("/tmp/rand2b")
loaded.processor.save_pretrained("/tmp/rand2b")
print(f"saved {loaded.spec.name} in {time.time() - start:.1f} s")
PY
for cfg in "fixed --max-new-tokens 128" "var --max-new-tokens 250 --lengths 40-250"; do
    set -- $cfg; name=$1; shift
    echo "=== $name"
    timeout 240 python3 benchmarks/remote.py --model /tmp/rand2b --device cuda --dtype bf16 \
        --images 256 --batch-size 64 --concurrency 16,64 --image-size 768x1024 "$@" \
        --json "$OUT/gpu_2b_remote_$name.json" 2>&1 | grep -v -e "Loading weights" -e "Writing model" \
        | tee "$OUT/gpu_2b_remote_$name.log"
done
