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
if [ "${PHASE:-all}" = tuning ]; then  # profile, then the engine against the best baseline only
    step profile_2b 90 python3 benchmarks/profile_gpu.py --size 2B --json "$OUT/profile_2b.json"
    # Use whichever decode attention the profile found faster at 128 slots.
    export CAPTION_STUDIO_DECODE_ATTENTION=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
k='decode step ({}), 128 slots x 1088'; print(min(('sdpa','matmul'), key=lambda a: float(d.get(k.format(a),'1e9 ms').split()[0])))" "$OUT/profile_2b.json" 2>/dev/null || echo sdpa)
    echo "decode attention: $CAPTION_STUDIO_DECODE_ATTENTION"
    step tuned_2b 110 python3 benchmarks/throughput.py --random-weights 2B --images 512 \
        --methods hf_static,engine --hf-static-images 256 --slots 128 --json "$OUT/tuned_2b.json"
    step tuned_8b 100 python3 benchmarks/throughput.py --random-weights 8B --images 256 \
        --methods hf_static,engine --hf-static-images 128 --slots 64 --json "$OUT/tuned_8b.json"
    grep -h -e "ratio_" -e "^engine" -e "^hf_static" "$OUT"/tuned_*.log
    exit 0
fi
step check_2b 150 python3 benchmarks/continuous_check.py --size 2B --images 256 --slots 64 128
step bench_2b 240 python3 benchmarks/throughput.py --random-weights 2B --images 512 \
    --sequential-images 6 --batch4-images 16 --hf-static-images 128 --slots ${SLOTS_2B:-64} \
    --json "$OUT/bench_2b.json"
step bench_8b 200 python3 benchmarks/throughput.py --random-weights 8B --images 256 \
    --sequential-images 4 --batch4-images 8 --hf-static-images 64 --slots ${SLOTS_8B:-32} \
    --json "$OUT/bench_8b.json"
echo "=== summary"; grep -h -e "ratio_" -e "^engine" -e "^hf_static" -e "^sequential" -e "^batch4" -e "SUMMARY" "$OUT"/*.log
