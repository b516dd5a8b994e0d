"""One-shot GPU check of ContinuousRunner: correctness (graph vs eager vs generate) and speed.

Run from the repo root:  PYTHONPATH=. python gpu_check.py --size 2B   (or 8B; --size tiny on CPU)
Random weights of the true size, synthetic 768x1024-image prompts (768 visual tokens, 802 in all).
"""
import argparse, threading, time, torch
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
from desktop_app.engine.continuous import ContinuousRunner
from desktop_app.engine.runner import DecodeSettings, PreparedInput

p = argparse.ArgumentParser()
p.add_argument("--size", default="2B", choices=["tiny", "2B", "8B"])
p.add_argument("--images", type=int, default=256)
p.add_argument("--slots", type=int, nargs="+", default=[64, 128])
p.add_argument("--new-tokens", type=int, default=128)
a = p.parse_args()
dev = "cuda" if torch.cuda.is_available() else "cpu"
SIZES = {  # text hidden/inter/layers/heads, vision depth/hidden/inter, deepstack, tied
    "tiny": (64, 128, 2, 4, 2, 64, 128, [0, 1], False),
    "2B": (2048, 6144, 28, 16, 24, 1024, 4096, [5, 11, 17], True),
    "8B": (4096, 12288, 36, 32, 27, 1152, 4304, [8, 16, 24], False)}
h, inter, layers, heads, vdepth, vh, vinter, deep, tied = SIZES[a.size]
tiny = a.size == "tiny"
config = Qwen3VLConfig(
    text_config=dict(vocab_size=151936, hidden_size=h, intermediate_size=inter, num_hidden_layers=layers,
                     num_attention_heads=heads, num_key_value_heads=2 if tiny else 8, head_dim=16 if tiny else 128,
                     max_position_embeddings=32768, rms_norm_eps=1e-6, rope_parameters=dict(
                         rope_type="default", rope_theta=5e6, mrope_section=[4, 2, 2] if tiny else [24, 20, 20],
                         mrope_interleaved=True)),
    vision_config=dict(depth=vdepth, hidden_size=vh, intermediate_size=vinter, num_heads=4 if tiny else 16,
                       patch_size=16, spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=h,
                       num_position_embeddings=64 if tiny else 2304, deepstack_visual_indexes=deep),
    image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
    tie_word_embeddings=tied)
dtype = torch.float32 if tiny else torch.bfloat16
torch.manual_seed(0)
t0 = time.time()
with torch.device(dev):
    model = Qwen3VLForConditionalGeneration(config).to(dtype).eval()
print(f"model {a.size}: {sum(p.numel() for p in model.parameters()) / 1e9:.3f}B params, built in {time.time() - t0:.0f}s, {dev}")

gh, gw = (8, 8) if tiny else (48, 64)  # patch grid of a 768x1024 image
vis = gh * gw // 4
g = torch.Generator().manual_seed(1)
def make(key, new_tokens, seeds=(0,)):
    text = torch.randint(0, 151000, (34,), generator=g)
    ids = torch.cat([text[:15], torch.tensor([151652]), torch.full((vis,), 151655), torch.tensor([151653]), text[15:32]])
    types = (ids == 151655).long()
    pixels = torch.randn(gh * gw, 3 * 2 * 16 * 16, generator=g)
    return PreparedInput(key, ids, types, pixels, torch.tensor([[1, gh, gw]]), new_tokens, seeds)

stops = frozenset({151645, 151643})
rows = []
def run(runner, inputs, settings):
    out = {}
    for o in runner.run(iter(inputs), settings, threading.Event(), lambda b: None):
        assert hasattr(o, "token_ids"), o
        out[(o.key, o.variant)] = o.token_ids
    return out

# 1. correctness: CUDA graph == eager, alone == in a batch (greedy and seeded sampling), vs generate()
small = [make(k, 24 + 3 * k, seeds=(k, 100 + k)) for k in range(8)]
for name, st in [("greedy", DecodeSettings(stops, ignore_eos=True)),
                 ("sampling", DecodeSettings(stops, temperature=0.8, top_k=20, top_p=0.9,
                                             repetition_penalty=1.1, ignore_eos=True))]:
    eager = run(ContinuousRunner(model, slots=6, prefill_batch=1, cuda_graph=False), small, st)
    graph_runner = ContinuousRunner(model, slots=6, prefill_batch=1)
    graph = run(graph_runner, small, st)
    wide = run(ContinuousRunner(model, slots=16, prefill_batch=1), small, st)
    same = sum(eager[k] == graph[k] for k in eager)
    inv = sum(wide[k] == graph[k] for k in eager)
    print(f"[{name}] graph==eager {same}/{len(eager)} rows, slots 6==16 {inv}/{len(eager)} rows, "
          f"captures {graph_runner.stats.extra['graph_captures']:.0f}")
    rows.append((name, same == len(eager)))
agree = []
ours = run(ContinuousRunner(model, slots=4), small[:3], DecodeSettings(stops, ignore_eos=True))
for inp in small[:3]:
    ref = model.generate(input_ids=inp.input_ids[None].to(dev), mm_token_type_ids=inp.mm_token_type_ids[None].to(dev),
                         attention_mask=torch.ones(1, inp.input_ids.numel(), dtype=torch.long, device=dev),
                         pixel_values=inp.pixel_values.to(dev), image_grid_thw=inp.image_grid_thw.to(dev),
                         max_new_tokens=inp.max_new_tokens, min_new_tokens=inp.max_new_tokens, do_sample=False)
    ref = ref[0, inp.input_ids.numel():].tolist()
    agree.append(next((i for i, (x, y) in enumerate(zip(ref, ours[(inp.key, 0)])) if x != y), len(ref)))
print(f"common prefix with generate() (of {[i.max_new_tokens for i in small[:3]]} tokens): {agree}")

# 2. speed: images/s, every caption exactly new_tokens long
inputs = [make(k, a.new_tokens) for k in range(a.images)]
st = DecodeSettings(stops, ignore_eos=True)
for slots in a.slots:
    runner = ContinuousRunner(model, slots=slots)
    t0 = time.time(); runner.warmup(); warm = time.time() - t0
    run(runner, inputs[:slots], st)  # first prefill shapes, allocator
    s0 = dict(runner.stats.__dict__); s0_extra = dict(runner.stats.extra)
    if dev == "cuda": torch.cuda.synchronize()
    t0 = time.time(); out = run(runner, inputs, st); dt = time.time() - t0
    assert len(out) == a.images and all(len(v) == a.new_tokens for v in out.values())
    steps = runner.stats.decode_steps - s0["decode_steps"]
    dec = runner.stats.decode_s - s0["decode_s"]; pre = runner.stats.prefill_s - s0["prefill_s"]
    mem = torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else 0
    print(f"slots {slots}: {a.images / dt:.1f} images/s ({dt:.1f}s; prefill {pre:.1f}s, decode {dec:.1f}s, "
          f"{steps} steps, {1000 * dec / max(steps, 1):.2f} ms/step; warmup {warm:.1f}s; max_len {runner.max_len}; peak {mem:.1f} GiB)")
    rows.append((f"speed slots={slots}", f"{a.images / dt:.1f} img/s"))
    del runner
print("SUMMARY", rows)
