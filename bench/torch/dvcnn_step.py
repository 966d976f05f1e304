"""One plain-SGD step of a DVCNN in PyTorch on one thread: the baseline for bench/dvcnn.ts.

The same network as src/models/dvcnn.ts: L volume-conserving layers y = x + sigmoid(x (A * M) + b) with a
fixed strictly triangular 0/1 mask M (alternating upper/lower), a dense softmax output layer, mean softmax
cross-entropy, plain SGD (torch.optim.SGD, no momentum). Weights N(0, 1/d) masked, hidden biases -2, output
layer zero, a fixed random batch (uniform [0, 1) inputs, labels i % 10). One warm-up step, then `repeats`
timed steps (forward, backward, update, zero_grad): wall seconds and the process's CPU seconds (all threads).

Usage: dvcnn_step.py WIDTH,DEPTH,BATCH,REPEATS [...]  ->  one JSON object on stdout:
  {"torch": "1.13...", "threads": 1, "steps": [{"width":..,"depth":..,"batch":..,"minSeconds":..,
   "medianSeconds":..,"minCpuSeconds":..,"medianCpuSeconds":..,"repeats":..,"loss":..}]}
"""
import json
import os
import sys
import time

# one BLAS thread: set before torch (and its OpenBLAS/OpenMP) is loaded
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class Dvcnn(torch.nn.Module):
    def __init__(self, width, depth, classes=10, bias_init=-2.0, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        upper = torch.triu(torch.ones(width, width), diagonal=1)  # M[j][i] = 1 iff j < i
        self.register_buffer("mask_upper", upper)
        self.register_buffer("mask_lower", upper.t().contiguous())
        self.a = torch.nn.ParameterList()
        self.b = torch.nn.ParameterList()
        for layer in range(depth):
            w = torch.randn(width, width, generator=gen) / width**0.5
            self.a.append(torch.nn.Parameter(w * self.mask(layer)))
            self.b.append(torch.nn.Parameter(torch.full((width,), bias_init)))
        self.out = torch.nn.Linear(width, classes)
        torch.nn.init.zeros_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)

    def mask(self, layer):
        return self.mask_upper if layer % 2 == 0 else self.mask_lower

    def forward(self, x):
        for layer, (a, b) in enumerate(zip(self.a, self.b)):
            x = x + torch.sigmoid(torch.addmm(b, x, a * self.mask(layer)))
        return self.out(x)


def time_step(width, depth, batch, repeats):
    net = Dvcnn(width, depth)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(batch, width, generator=gen)
    y = torch.arange(batch) % 10
    opt = torch.optim.SGD(net.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    cpu = []
    loss = float("nan")
    for r in range(repeats + 1):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        loss_t = loss_fn(net(x), y)
        loss_t.backward()
        opt.step()
        loss = loss_t.item()
        if r > 0:  # r = 0 is the warm-up
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    times.sort()
    cpu.sort()
    return {
        "width": width,
        "depth": depth,
        "batch": batch,
        "minSeconds": times[0],
        "medianSeconds": times[(len(times) - 1) // 2],
        "minCpuSeconds": cpu[0],
        "medianCpuSeconds": cpu[(len(cpu) - 1) // 2],
        "repeats": repeats,
        "loss": loss,
    }


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    steps = []
    for spec in argv:
        width, depth, batch, repeats = (int(v) for v in spec.split(","))
        steps.append(time_step(width, depth, batch, repeats))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
