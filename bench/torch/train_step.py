"""One full-batch RMSprop step of the Hodas & Stinis MLP in PyTorch on one thread: the baseline for bench/train.ts.

The same network as src/models/hodas.ts (arch mlp): L hidden layers Dense (no bias) -> BatchNorm (epsilon 1e-3,
momentum 0.99 in Keras terms) -> tanh, widths 2W, W, ..., W, 2W, a Dense softmax output with a bias, mean
softmax cross-entropy, RMSprop (lr 1e-3, rho 0.9, epsilon 1e-7 added to the root, as Keras and the TypeScript
step). It starts from the TypeScript network's own initial weights (Glorot normal, seed 0), read from .npy
files, so both see the same numbers and the first step's loss must agree.

Per width: one warm-up step, then REPEATS timed steps (zero_grad, forward, backward, update); then the forward
pass over the validation images (no gradient; BatchNorm with the evaluated set's statistics, as the TypeScript
default --bn-eval batch), the first and last hidden activations and the error count, one warm-up and REPEATS
timed (the first and last activations are computed as part of the chain). Times: CPU seconds of the process (time.process_time) and wall seconds.

Usage: train_step.py DIR REPEATS DEPTH W [W ...]
  DIR holds x_train.npy (n, 784) float32, y_train.npy (n,), x_val.npy, y_val.npy, and per width W the initial
  weights W{W}_{name}.npy with name in W0, gamma0, beta0, ..., Wout, bout (W* as [fan_in, fan_out]).
Prints one JSON object on stdout:
  {"torch": "1.13...", "threads": 1, "widths": [{"width": .., "depth": .., "n": .., "step": {"cpuSeconds": [..],
   "seconds": [..]}, "losses": [..], "forward": {"n": .., "cpuSeconds": [..], "seconds": [..]}, "valErrors": ..}]}
"""
import json
import os
import sys
import time

# one BLAS / OpenMP thread: set before torch is loaded
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # PyTorch's momentum is Keras's 1 - 0.99


class HodasMlp(torch.nn.Module):
    def __init__(self, weights, depth):
        super().__init__()
        self.dense = torch.nn.ModuleList()
        self.bn = torch.nn.ModuleList()
        for i in range(depth):
            w = weights[f"W{i}"]
            lin = torch.nn.Linear(w.shape[0], w.shape[1], bias=False)
            bn = torch.nn.BatchNorm1d(w.shape[1], eps=BN_EPS, momentum=BN_MOMENTUM)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                bn.weight.copy_(torch.from_numpy(weights[f"gamma{i}"]))
                bn.bias.copy_(torch.from_numpy(weights[f"beta{i}"]))
            self.dense.append(lin)
            self.bn.append(bn)
        wout = weights["Wout"]
        self.out = torch.nn.Linear(wout.shape[0], wout.shape[1])
        with torch.no_grad():
            self.out.weight.copy_(torch.from_numpy(wout.T.copy()))
            self.out.bias.copy_(torch.from_numpy(weights["bout"]))

    def forward(self, x, batch_stats_only=False):
        """(first hidden activations, last, logits). batch_stats_only: normalise with x's own statistics and
        leave the running averages alone (the evaluation the TypeScript forward pass does by default)."""
        h, first = x, None
        for lin, bn in zip(self.dense, self.bn):
            z = lin(h)
            if batch_stats_only:
                z = F.batch_norm(z, None, None, bn.weight, bn.bias, training=True, eps=BN_EPS)
            else:
                z = bn(z)
            h = torch.tanh(z)
            first = h if first is None else first
        return first, h, self.out(h)


def timed(f, repeats):
    """One warm-up call, then `repeats` timed calls: their values, CPU seconds and wall seconds."""
    values, cpu, wall = [f()], [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        values.append(f())
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return values, cpu, wall


def bench_width(folder, width, depth, repeats, data):
    x, y, xv, yv = data
    names = [f"{p}{i}" for i in range(depth) for p in ("W", "gamma", "beta")] + ["Wout", "bout"]
    weights = {n: np.load(os.path.join(folder, f"W{width}_{n}.npy")) for n in names}
    model = HodasMlp(weights, depth)
    model.train()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)

    def step():
        opt.zero_grad(set_to_none=True)
        _, _, logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        return loss.item()

    def forward():
        with torch.no_grad():
            _, _, logits = model(xv, batch_stats_only=True)
            return int((logits.argmax(1) != yv).sum().item())

    losses, step_cpu, step_wall = timed(step, repeats)
    errors, fwd_cpu, fwd_wall = timed(forward, repeats)
    return {
        "width": width,
        "depth": depth,
        "n": int(x.shape[0]),
        "step": {"cpuSeconds": step_cpu, "seconds": step_wall},
        "losses": losses,
        "forward": {"n": int(xv.shape[0]), "cpuSeconds": fwd_cpu, "seconds": fwd_wall},
        "valErrors": errors[-1],
    }


def main():
    folder, repeats, depth, widths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(w) for w in sys.argv[4:]]
    load = lambda name: torch.from_numpy(np.load(os.path.join(folder, name)))  # noqa: E731
    data = (load("x_train.npy"), load("y_train.npy").long(), load("x_val.npy"), load("y_val.npy").long())
    out = [bench_width(folder, w, depth, repeats, data) for w in widths]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "widths": out}))


if __name__ == "__main__":
    main()
