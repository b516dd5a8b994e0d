#!/usr/bin/env bash
# One device call: environment, the continuous runner's correctness on CUDA, then throughput
# of Qwen3-VL-2B and -8B with random weights of the true size. Logs and JSON go to $OUT.
# Carry .whl (platformdirs: the GPU image lacks it) with the call.
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/caption-bench-out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:.
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
} 2>&1 | tee "$OUT/env.txt"
step() {  # name, seconds, command...
    local name=$1 limit=$2; shift 2
    echo "=== $name (limit ${limit}s)"
    timeout "$limit" "$@" 2>&1 | grep -v -e "Loading weights" -e "Writing model" | tee "$OUT/$name.log"
}
step check_2b 150 python3 benchmarks/continuous_check.py --size 2B --images 256 --slots 64 128
step bench_2b 240 python3 benchmarks/throughput.py --random-weights 2B --images 512 \
    --sequential-images 6 --batch4-images 16 --hf-static-images 128 --slots ${SLOTS_2B:-64} \
    --json "$OUT/bench_2b.json"
step bench_8b 200 python3 benchmarks/throughput.py --random-weights 8B --images 256 \
    --sequential-images 4 --batch4-images 8 --hf-static-images 64 --slots ${SLOTS_8B:-32} \
    --json "$OUT/bench_8b.json"
echo "=== summary"; grep -h -e "ratio_" -e "^engine" -e "^hf_static" -e "^sequential" -e "^batch4" -e "SUMMARY" "$OUT"/*.log
