"""NPEET's mi(x, y, k, base=2) on two .npy files: the paper's estimator, for bench/mi.ts.

NPEET is imported from $NPEET_PATH, else ../shared/anchors/npeet beside the repository. It adds 1e-10 x U[0,1)
noise to x and y by default; --noise off (the default here) replaces its add_noise with the identity, so that
the value is the exact estimate and comparable with the kernel's (the time is the same either way). The input
is converted to float64 as NPEET does (np.asarray of the float32 arrays, then its own arithmetic).

Usage: mi.py X.npy Y.npy [K] [--noise on|off]  ->  one JSON line on stdout:
  {"bits": .., "seconds": .., "cpuSeconds": .., "npeet": PATH, "sklearn": VERSION, "noise": false}
seconds and cpuSeconds cover the mi() call only (trees and queries), not the imports or the file reads.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import sklearn


def main():
    parser = argparse.ArgumentParser(description="NPEET's mi() on two .npy files, timed")
    parser.add_argument("x")
    parser.add_argument("y")
    parser.add_argument("k", nargs="?", type=int, default=3)
    parser.add_argument("--noise", choices=["on", "off"], default="off")
    args = parser.parse_args()
    noise = args.noise == "on"
    here = os.path.dirname(os.path.abspath(__file__))
    npeet_dir = os.environ.get("NPEET_PATH") or os.path.join(here, "..", "..", "..", "shared", "anchors", "npeet")
    sys.path.insert(0, npeet_dir)
    import entropy_estimators as ee

    if not noise:
        ee.add_noise = lambda x, intens=1e-10: x
    np.random.seed(0)
    x = np.load(args.x).astype(np.float64)
    y = np.load(args.y).astype(np.float64)
    t0, c0 = time.perf_counter(), time.process_time()
    bits = ee.mi(x, y, k=args.k, base=2)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"bits": float(bits), "seconds": seconds, "cpuSeconds": cpu, "npeet": os.path.abspath(npeet_dir),
                      "sklearn": sklearn.__version__, "noise": noise, "n": int(x.shape[0])}))


if __name__ == "__main__":
    main()
