#!/usr/bin/env bash
# One device call for the media paths on CUDA: Qwen3-VL-2B of the true size with random bf16
# weights (saved to disk), then (1) the video benchmark (continuous vs generate runner), (2) a
# mixed images+videos job and a 3-image comparison through the continuous runner (CUDA graphs,
# pinned copies), (3) `serve` + RemoteEngine against the local engine. Carry .whl (av, fastapi,
# starlette, pydantic, pydantic_core, uvicorn, annotated_types, typing_inspection, platformdirs,
# opentelemetry_api, importlib_metadata, lazy_importer, since fastapi 0.165 imports opentelemetry,
# for cp312). Logs and JSON go to $OUT.
set -u
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
OUT=${OUT:-/tmp/caption-media-out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:.
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  python3 -c "import sys, torch, transformers, av; print(sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, 'av', av.__version__)"
} 2>&1 | tee "$OUT/env.txt"
timeout 120 python3 - <<'PY' 2>&1 | grep -v -e "Loading weights" -e "Writing model" | tee "$OUT/build.log"
import time, torch
from pathlib import Path
from benchmarks.throughput import random_weight_model
from desktop_app.testing.tiny_model import build_tiny_model
start = time.time()
loaded = random_weight_model("2B", torch.device("cuda"), build_tiny_model(Path("/tmp/tiny")))
loaded.model.save_pretrained("/tmp/rand2b")
loaded.processor.save_pretrained("/tmp/rand2b")
print(f"saved {loaded.spec.name} in {time.time() - start:.1f} s")
PY
echo "=== video"
timeout 170 python3 benchmarks/video.py --model /tmp/rand2b --device cuda --dtype bf16 --videos 32 --slots 32 \
    --max-new-tokens 64 --workers 8 --threads 4 --runners continuous,generate \
    --json "$OUT/gpu_2b_video.json" 2>&1 | grep -v -e "Loading weights" | tee "$OUT/gpu_2b_video.log"
echo "=== mixed + comparison"
timeout 90 python3 - <<'PY' 2>&1 | grep -v -e "Loading weights" | tee "$OUT/gpu_2b_mixed.log"
import time, torch
from pathlib import Path
from PIL import Image
from desktop_app.compare import comparison_request
from desktop_app.engine import CaptionEngine, CaptionRequest, GenerationParams, ImageCaptioned
from desktop_app.engine.loading import LoadOptions, load_model
from desktop_app.engine.models import resolve_model
from desktop_app.testing.videos import write_video
d = Path("/tmp/mixed"); d.mkdir(exist_ok=True)
paths = []
for i in range(12):
    p = d / f"img{i:02d}.jpg"; Image.new("RGB", (768, 1024), (i * 20, 90, 140)).save(p); paths.append(p)
for i in range(4):
    paths.append(write_video(d / f"clip{i}.mp4", seconds=4.0, fps=10, size=(320, 240)))
loaded = load_model(resolve_model("/tmp/rand2b"), LoadOptions(device="cuda"))
engine = CaptionEngine.from_loaded(loaded, runner="continuous", workers=8)
params = GenerationParams(max_new_tokens=48, ignore_eos=True)
for label, request in (("mixed 12 images + 4 videos", CaptionRequest.for_paths(paths, params=params)),
                       ("comparison of 3 images", comparison_request(paths[:3], "What differs?", params))):
    start = time.perf_counter()
    results = list(engine.caption(request))
    ok = sum(isinstance(r, ImageCaptioned) for r in results)
    bad = [getattr(r, "reason", "") for r in results if not isinstance(r, ImageCaptioned)]
    print(f"{label}: {ok}/{len(results)} captioned in {time.perf_counter() - start:.2f} s; failures: {bad}")
stats = getattr(engine.runner, "stats", None)
print("runner stats:", stats)
print("max memory allocated GB:", round(torch.cuda.max_memory_allocated() / 2**30, 2))
PY
echo "=== remote"
timeout 150 python3 benchmarks/remote.py --model /tmp/rand2b --device cuda --dtype bf16 \
    --images 256 --batch-size 64 --concurrency 64 --image-size 768x1024 --max-new-tokens 128 \
    --json "$OUT/gpu_2b_remote.json" 2>&1 | grep -v -e "Loading weights" | tee "$OUT/gpu_2b_remote.log"
echo "=== done"
