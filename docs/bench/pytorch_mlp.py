#!/usr/bin/env python3
"""PyTorch's CPU training speed on relutui's benchmark network, for `relutui bench`'s ratios.

The same network and step as `relutui bench`: 784-1000-1000-1000-10 (or --hidden), rectifier
or tanh, softmax with negative log-likelihood, an L1 penalty of 0.001 on the hidden
activations, plain SGD at lr 0.1, Glorot-uniform weights and zero biases, consecutive
mini-batches of the embedded mnist10k. It warms up for --warmup-steps steps, then times
--repeats runs of --seconds each and prints one JSON line per configuration (the median,
like relutui's). The level PyTorch uses is whatever its environment allows: the comparison
script (docs/bench/compare.sh) pins AVX2 with ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS
and DNNL_MAX_CPU_ISA. relutui never depends on Python; this is only the yardstick.
"""
import argparse
import gzip
import json
import os
import statistics
import time

import numpy as np
import torch


def load_mnist10k(root):
    with gzip.open(os.path.join(root, "mnist10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(root, "mnist10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


class Mlp(torch.nn.Module):
    def __init__(self, widths, act):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])
        )
        for layer in self.layers:
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
        self.act = torch.relu if act == "rectifier" else torch.tanh

    def forward(self, x):
        penalty = 0.0
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
            penalty = penalty + x.abs().sum(dim=1).mean()
        return self.layers[-1](x), penalty


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "mnist10k"))
    p.add_argument("--activations", default="rectifier,tanh")
    p.add_argument("--batch-size", default="10")
    p.add_argument("--threads", default="1")
    p.add_argument("--hidden", default="1000,1000,1000")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup-steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--l1", type=float, default=0.001)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    x_all, y_all = load_mnist10k(args.data)
    widths = [784] + [int(w) for w in args.hidden.split(",")] + [10]
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    for bs in (int(b) for b in args.batch_size.split(",")):
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            for act in args.activations.split(","):
                torch.manual_seed(args.seed)
                net = Mlp(widths, act)
                opt = torch.optim.SGD(net.parameters(), lr=args.lr)
                nll = torch.nn.CrossEntropyLoss()
                state = {"next": 0}

                def step():
                    i = state["next"]
                    if i + bs > len(y_all):
                        i = 0
                    state["next"] = i + bs
                    x, y = x_all[i : i + bs], y_all[i : i + bs]
                    opt.zero_grad(set_to_none=True)
                    out, penalty = net(x)
                    loss = nll(out, y) + args.l1 * penalty
                    loss.backward()
                    opt.step()
                    return bs

                for _ in range(args.warmup_steps):
                    step()
                runs = []
                for _ in range(args.repeats):
                    n, t0 = 0, time.perf_counter()
                    while time.perf_counter() - t0 < args.seconds:
                        n += step()
                    runs.append(n / (time.perf_counter() - t0))
                med = statistics.median(runs)
                print(json.dumps({
                    "net": act,
                    "engine": "pytorch",
                    "batch_size": bs,
                    "threads": threads,
                    "simd": torch.backends.cpu.get_cpu_capability().lower(),
                    "torch": torch.__version__,
                    "examples_per_sec": med,
                    "runs": runs,
                    "dense_gflops_equiv": 6 * params * med / 1e9,
                }), flush=True)


if __name__ == "__main__":
    main()
