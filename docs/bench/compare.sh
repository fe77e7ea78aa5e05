#!/usr/bin/env bash
# relutui against PyTorch and the ndarray baseline, in one run on one machine.
#
#   docs/bench/compare.sh [OUT_DIR]
#
# Times, one after another in the same run (so the ratios share the machine's state):
#   - `relutui bench --baseline` on every SIMD level this CPU can run (or $LEVELS), interleaved;
#   - PyTorch (docs/bench/pytorch_mlp.py) with its CPU kernels pinned to AVX2, the level of
#     the machines this project builds on (set TORCH_ISA=native to leave PyTorch unpinned);
#   - PyTorch's SGEMM on 1000×1000×1000 and 10×1000×1000, the dense limit of the cores;
# at batch 10 on 1 thread and batch 100 on 2 threads, then prints a Markdown table of the
# medians and the ratios. The JSON lines stay in OUT_DIR.
#
# Environment: RELUTUI (default: target/release/relutui, else relutui on PATH), PYTHON (a
# Python with torch and numpy; default python3), LEVELS, SECONDS_EACH (2), REPEATS (3),
# CONFIGS ("10:1 100:2", batch:threads). relutui itself never depends on Python.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ -z "${RELUTUI:-}" ]]; then
    if [[ -x "$root/target/release/relutui" ]]; then RELUTUI="$root/target/release/relutui"; else RELUTUI=relutui; fi
fi
PYTHON=${PYTHON:-python3}
SECONDS_EACH=${SECONDS_EACH:-2}
REPEATS=${REPEATS:-3}
CONFIGS=${CONFIGS:-"10:1 100:2"}
out=${1:-bench-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
    echo "compare.sh: $PYTHON has no torch or numpy (set PYTHON to a venv's python)" >&2
    exit 2
fi
# `relutui --version` names the levels: "simd: avx512 (this CPU can run: avx512, avx2, scalar)".
LEVELS=${LEVELS:-$("$RELUTUI" --version | sed -n 's/.*can run: \(.*\))/\1/p' | tr -d ' ')}
torch_env=(ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 DNNL_MAX_CPU_ISA=AVX2)
[[ "${TORCH_ISA:-avx2}" == native ]] && torch_env=()

{
    echo "machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs"
    echo "flags: $(grep -o -w -E 'avx512f|avx2|fma|asimd' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    "$RELUTUI" --version
    echo "levels: $LEVELS; seconds $SECONDS_EACH × $REPEATS repeats; $(date -u +%FT%TZ)"
} | tee "$out/machine.txt"

: > "$out/relutui.jsonl"
: > "$out/pytorch.jsonl"
for cfg in $CONFIGS; do
    bs=${cfg%%:*} threads=${cfg##*:}
    echo "batch $bs, $threads thread(s): relutui" >&2
    "$RELUTUI" bench --levels "$LEVELS" --baseline --batch-size "$bs" --threads "$threads" \
        --seconds "$SECONDS_EACH" --repeats "$REPEATS" >> "$out/relutui.jsonl"
    echo "batch $bs, $threads thread(s): pytorch" >&2
    env "${torch_env[@]}" "$PYTHON" "$here/pytorch_mlp.py" --data "$root/datasets/mnist10k" \
        --batch-size "$bs" --threads "$threads" --seconds "$SECONDS_EACH" --repeats "$REPEATS" \
        >> "$out/pytorch.jsonl"
done

echo "sgemm peak" >&2
env "${torch_env[@]}" "$PYTHON" - "$CONFIGS" > "$out/sgemm.jsonl" <<'EOF'
import json, statistics, sys, time
import torch
threads = sorted({int(c.split(":")[1]) for c in sys.argv[1].split()})
for t in threads:
    torch.set_num_threads(t)
    for m in (1000, 10, 100):
        a, b = torch.rand(m, 1000), torch.rand(1000, 1000)
        for _ in range(20):
            torch.mm(a, b)
        runs = []
        for _ in range(5):
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 0.5:
                torch.mm(a, b)
                n += 1
            runs.append(2 * m * 1000 * 1000 * n / (time.perf_counter() - t0) / 1e9)
        print(json.dumps({"sgemm": f"{m}x1000x1000", "threads": t,
                          "simd": torch.backends.cpu.get_cpu_capability().lower(),
                          "gflops": statistics.median(runs)}))
EOF

"$PYTHON" - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
rel = [json.loads(l) for l in open(f"{out}/relutui.jsonl") if l.strip()]
pt = {(r["net"], r["batch_size"], r["threads"]): r for r in map(json.loads, open(f"{out}/pytorch.jsonl"))}
gemm = {(r["sgemm"], r["threads"]): r for r in map(json.loads, open(f"{out}/sgemm.jsonl"))}
print(open(f"{out}/machine.txt").read())
print("| net | batch | threads | engine | simd | examples/s | dense-equiv GFLOP/s | × PyTorch | × ndarray |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for key in sorted({(r["net"], r["batch_size"], r["threads"]) for r in rel}, key=lambda k: (k[1], k[0])):
    net, bs, th = key
    p = pt.get(key)
    base = next((r for r in rel if (r["net"], r["batch_size"], r["threads"]) == key
                 and r["engine"] == "ndarray_baseline"), None)
    rows = [r for r in rel if (r["net"], r["batch_size"], r["threads"]) == key]
    if p:
        rows.append({**p, "engine": "pytorch"})
    for r in rows:
        eps = r["examples_per_sec"]
        vs_pt = f"{eps / p['examples_per_sec']:.2f}" if p else "–"
        vs_nd = f"{eps / base['examples_per_sec']:.2f}" if base else "–"
        print(f"| {net} | {bs} | {th} | {r['engine']} | {r['simd']} | {eps:,.0f} | "
              f"{r['dense_gflops_equiv']:.1f} | {vs_pt} | {vs_nd} |")
print()
print("| SGEMM (PyTorch) | threads | simd | GFLOP/s |")
print("| --- | --- | --- | --- |")
for (shape, th), r in sorted(gemm.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"| {shape} | {th} | {r['simd']} | {r['gflops']:.1f} |")
EOF
