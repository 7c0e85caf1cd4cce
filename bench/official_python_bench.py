#!/usr/bin/env python3
"""One window forward of the *official* Swin SMT (Python, Debian's PyTorch 1.13) in the official
README configuration, for comparison with swinsmt_bench on the same machine. Prints one JSON line
like swinsmt_bench's (first and second window, peak RSS).

Needs Debian's python3 with python3-torch and the fetched official sources on PYTHONPATH (see
tools/official_model.py), e.g.
  OMP_WAIT_POLICY=PASSIVE PYTHONPATH=tools:/work/ref:/work/ref/einops_src:/work/ref/swinsmt_src/src/models \
      /usr/bin/python3 bench/official_python_bench.py --size 128
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch

from official_model import QuietSwinSMT

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=64)
parser.add_argument("--threads", type=int, default=os.cpu_count())
parser.add_argument("--repeat", type=int, default=2)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
s = args.size
# The official README configuration (feature 48, v2, 4 experts in 3 stages, 118 classes).
model = QuietSwinSMT(img_size=(s, s, s), in_channels=1, out_channels=118, feature_size=48, use_v2=True,
                     use_moe=True, num_experts=4, num_layers_with_moe=3).eval()
x = torch.rand(1, 1, s, s, s)
times = []
with torch.inference_mode():
    for _ in range(max(1, args.repeat)):
        out = None
        start = time.perf_counter()
        out = model(x)
        times.append(time.perf_counter() - start)
# As swinsmt_bench: the median of the windows after the first (a shared VM varies by 5-20 %).
later = statistics.median(times[1:] if len(times) > 1 else times)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"bench": "official_python", "size": s, "kernel": "official Python", "threads": torch.get_num_threads(),
                  "repeat": len(times), "first_seconds": round(times[0], 2), "seconds": round(later, 2),
                  "window_seconds": [round(t, 2) for t in times],
                  "peak_rss_mb": round(rss), "torch": torch.__version__}))
