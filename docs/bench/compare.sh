#!/usr/bin/env bash
# relutui against PyTorch and the ndarray baseline, in one run on one machine.
#
#   docs/bench/compare.sh [OUT_DIR]
#
# Times, in $ROUNDS rounds that take turns (so that load from elsewhere on a shared machine
# falls on every engine alike):
#   - `relutui bench --baseline` on every SIMD level this CPU can run (or $LEVELS), one run
#     of each engine per round, interleaved;
#   - PyTorch (docs/bench/pytorch_mlp.py) with its CPU kernels pinned to AVX2, the level of
#     the machines this project builds on (set TORCH_ISA=native to leave PyTorch unpinned),
#     one run per round right after relutui's;
#   - PyTorch's SGEMM on 1000×1000×1000, 100×1000×1000 and 10×1000×1000, the dense limit of
#     the cores, once per round;
# at batch 10 on 1 thread and batch 100 on 2 threads, then prints a Markdown table of the
# medians over the rounds and of the ratios taken round by round (each relutui run against
# the PyTorch run beside it). The JSON lines stay in OUT_DIR.
#
# Environment: RELUTUI (default: target/release/relutui, else relutui on PATH), PYTHON (a
# Python with torch and numpy; default python3), LEVELS, SECONDS_EACH (2), ROUNDS (3;
# REPEATS is an older name for it), CONFIGS ("10:1 100:2", batch:threads). relutui itself
# never depends on Python.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [[ -z "${RELUTUI:-}" ]]; then
    if [[ -x "$root/target/release/relutui" ]]; then RELUTUI="$root/target/release/relutui"; else RELUTUI=relutui; fi
fi
PYTHON=${PYTHON:-python3}
SECONDS_EACH=${SECONDS_EACH:-2}
ROUNDS=${ROUNDS:-${REPEATS:-3}}
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
    echo "levels: $LEVELS; seconds $SECONDS_EACH × $ROUNDS rounds; $(date -u +%FT%TZ)"
} | tee "$out/machine.txt" >&2

: > "$out/relutui.jsonl"
: > "$out/pytorch.jsonl"
: > "$out/sgemm.jsonl"
for round in $(seq 1 "$ROUNDS"); do
    for cfg in $CONFIGS; do
        bs=${cfg%%:*} threads=${cfg##*:}
        echo "round $round of $ROUNDS, batch $bs, $threads thread(s): relutui" >&2
        "$RELUTUI" bench --levels "$LEVELS" --baseline --batch-size "$bs" --threads "$threads" \
            --seconds "$SECONDS_EACH" --repeats 1 | sed "s/^{/{\"round\":$round,/" >> "$out/relutui.jsonl"
        echo "round $round of $ROUNDS, batch $bs, $threads thread(s): pytorch" >&2
        env "${torch_env[@]}" "$PYTHON" "$here/pytorch_mlp.py" --data "$root/datasets/mnist10k" \
            --batch-size "$bs" --threads "$threads" --seconds "$SECONDS_EACH" --repeats 1 \
            | sed "s/^{/{\"round\": $round, /" >> "$out/pytorch.jsonl"
    done
    echo "round $round of $ROUNDS: sgemm peak" >&2
    env "${torch_env[@]}" "$PYTHON" - "$CONFIGS" "$round" >> "$out/sgemm.jsonl" <<'EOF'
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
        print(json.dumps({"round": int(sys.argv[2]), "sgemm": f"{m}x1000x1000", "threads": t,
                          "simd": torch.backends.cpu.get_cpu_capability().lower(),
                          "gflops": statistics.median(runs)}))
EOF
done

"$PYTHON" - "$out" <<'EOF'
import json, statistics, sys
from collections import defaultdict
out = sys.argv[1]
med = statistics.median
rel = [json.loads(l) for l in open(f"{out}/relutui.jsonl") if l.strip()]
pt = {(r["net"], r["batch_size"], r["threads"], r["round"]): r
      for r in map(json.loads, open(f"{out}/pytorch.jsonl"))}
gemm = defaultdict(list)
for r in map(json.loads, open(f"{out}/sgemm.jsonl")):
    gemm[(r["sgemm"], r["threads"], r["simd"])].append(r["gflops"])
# One series per (net, batch, threads, engine, simd): its runs by round.
series = defaultdict(dict)
for r in rel:
    series[(r["net"], r["batch_size"], r["threads"], r["engine"], r["simd"])][r["round"]] = r
for (net, bs, th, rnd), r in pt.items():
    series[(net, bs, th, "pytorch", r["simd"])][rnd] = r
print(open(f"{out}/machine.txt").read())
print("Medians over the rounds; × PyTorch and × ndarray are medians of the ratios taken round by round.")
print()
print("| net | batch | threads | engine | simd | examples/s (min–max) | dense-equiv GFLOP/s | × PyTorch | × ndarray |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
def ratio(runs, other):
    pairs = [runs[k]["examples_per_sec"] / other[k]["examples_per_sec"] for k in runs if k in other]
    return f"{med(pairs):.2f}" if pairs else "–"
for key in sorted(series, key=lambda k: (k[1], k[0], k[3] == "pytorch")):
    net, bs, th, engine, simd = key
    runs = series[key]
    torch_runs = next((v for k, v in series.items() if k[:4] == (net, bs, th, "pytorch")), {})
    nd_runs = next((v for k, v in series.items() if k[:4] == (net, bs, th, "ndarray_baseline")), {})
    eps = [r["examples_per_sec"] for r in runs.values()]
    gf = med([r["dense_gflops_equiv"] for r in runs.values()])
    print(f"| {net} | {bs} | {th} | {engine} | {simd} | {med(eps):,.0f} ({min(eps):,.0f}–{max(eps):,.0f}) | "
          f"{gf:.1f} | {ratio(runs, torch_runs)} | {ratio(runs, nd_runs)} |")
print()
print("| SGEMM (PyTorch) | threads | simd | GFLOP/s, median (min–max) over rounds |")
print("| --- | --- | --- | --- |")
for (shape, th, simd), g in sorted(gemm.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"| {shape} | {th} | {simd} | {med(g):.1f} ({min(g):.1f}–{max(g):.1f}) |")
EOF
