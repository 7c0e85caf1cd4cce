#!/usr/bin/env python3
"""Turns the JSON lines of bench/run_benchmarks.sh into the markdown tables of docs/benchmarks.md."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
models = [r for r in rows if r["bench"] in ("model", "official_python")]
print("| window | implementation / Soft MoE kernel | first window (s) | next window (s) | peak RSS (MB) | speed-up vs reference | vs official Python | max abs diff vs reference |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in models:
    ref = next((m for m in models if m["size"] == r["size"] and m["kernel"] == "reference"), None)
    speed = f"{ref['seconds'] / r['seconds']:.2f}x" if ref else ""
    python = next((m for m in models if m["size"] == r["size"] and m["bench"] == "official_python"), None)
    vs_python = f"{python['seconds'] / r['seconds']:.2f}x" if python else ""
    first = f"{r['first_seconds']:.1f}" if "first_seconds" in r else ""
    diff = f"{r['max_abs_diff_vs_reference']:.2g}" if r.get("max_abs_diff_vs_reference", -1) >= 0 else ""
    print(f"| {r['size']}^3 | {r['kernel']} | {first} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | {speed} | {vs_python} | {diff} |")
print()
print("| tokens N | dim | Soft MoE kernel | first call (s) | next call (s) | peak RSS (MB) |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    if r["bench"] == "moe":
        first = f"{r['first_seconds']:.2f}" if "first_seconds" in r else ""
        print(f"| {r['tokens']} | {r['dim']} | {r['kernel']} | {first} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} |")
convs = [r for r in rows if r["bench"] == "conv"]
if convs:
    print()
    print("| map | channels in -> out | ConvLayer (s) | direct conv3d (s) | direct GFLOP/s | speed-up | max abs diff (of max abs) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in convs:
        print(f"| {r['size']}^3 | {r['in']} -> {r['out']} | {r['seconds']:.3f} | {r['direct_seconds']:.3f} | "
              f"{r['direct_gflops']:.0f} | {r['direct_seconds'] / r['seconds']:.2f}x | "
              f"{r['max_abs_diff_vs_direct']:.2g} ({r['max_abs_direct']:.2g}) |")
