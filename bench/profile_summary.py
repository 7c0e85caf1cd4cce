#!/usr/bin/env python3
"""Aggregates a chrome trace written by `swinsmt_bench model --profile FILE` by op name (self time
is not available in the legacy trace, so nested ops are counted inside their parents too)."""
import collections
import json
import sys

events = json.load(open(sys.argv[1]))
events = events["traceEvents"] if isinstance(events, dict) else events
total = collections.Counter()
count = collections.Counter()
for e in events:
    if e.get("ph") == "X":
        total[e["name"]] += e.get("dur", 0)
        count[e["name"]] += 1
for name, us in total.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 25):
    print(f"{us / 1e6:9.3f} s  {count[name]:6d}x  {name}")
