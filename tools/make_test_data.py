#!/usr/bin/env python3
"""Copies the reference fixtures the tests need from ../shared/fixtures into tests/data.

The fixtures come from the official Swin SMT implementation (see ../shared/fixtures/README.md).
To stay small, the copies drop intermediates the tests do not use, and store a tensor that is
byte-identical to an earlier one only once: the dropped name is recorded in the safetensors
metadata "aliases" ({"dropped": "kept"}), which tests/fixtures.hpp resolves.
Run from the repository root: python3 tools/make_test_data.py [fixtures-dir]
"""
import hashlib
import json
import os
import shutil
import struct
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "fixtures")
DST = os.path.join("tests", "data")


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n :]
    tensors = {}
    for key, v in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = v["data_offsets"]
        tensors[key] = (v["dtype"], v["shape"], data[b:e])
    return meta, tensors


def write(path, meta, tensors):
    header, chunks, offset = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for key, (dtype, shape, raw) in tensors.items():
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def copy_io(name, keep):
    meta, tensors = read(os.path.join(SRC, name + ".io.safetensors"))
    kept, aliases, seen = {}, {}, {}
    for key, (dtype, shape, raw) in tensors.items():
        if not keep(key):
            continue
        digest = (dtype, tuple(shape), hashlib.sha256(raw).hexdigest())
        if digest in seen:
            aliases[key] = seen[digest]
            continue
        seen[digest] = key
        kept[key] = (dtype, shape, raw)
    meta = dict(meta)
    meta["aliases"] = json.dumps(aliases, sort_keys=True)
    write(os.path.join(DST, name + ".io.safetensors"), meta, kept)
    print(f"{name}.io: kept {len(kept)} tensors, {len(aliases)} aliases")


def key_list(name):
    meta, tensors = read(os.path.join(SRC, name + ".weights.safetensors"))
    listing = {"config": json.loads(meta["config"]),
               "keys": [[k, dtype, shape] for k, (dtype, shape, _) in tensors.items()]}
    with open(os.path.join(DST, name + ".keys.json"), "w") as f:
        json.dump(listing, f, indent=0)


os.makedirs(os.path.join(DST, "checkpoints"), exist_ok=True)
whole_model = lambda k: k in ("input", "output") or k.startswith("hidden.")
# smt_f12_v2_e4: every submodule case (its weights come from checkpoints/smt_f12_v2_e4.fabric.pth).
copy_io("smt_f12_v2_e4", lambda k: True)
# mergingv2: whole model plus the PatchMergingV2 case.
copy_io("smt_f12_mergingv2_e3", lambda k: whole_model(k) or k.startswith("swinViT.layers1.0.downsample."))
copy_io("swinunetr_f12_b2", whole_model)
for name in ("smt_f12_v2_e4", "smt_f12_mergingv2_e3", "swinunetr_f12_b2"):
    key_list(name)
# The relative_position_index buffers (int64, 7.5 MB per model) are derived from the window size;
# the copies leave them out and the tests check ours against the full official state dict of
# checkpoints/smt_f12_v2_e4.fabric.pth instead.
for name in ("smt_f12_mergingv2_e3", "swinunetr_f12_b2"):
    meta, tensors = read(os.path.join(SRC, name + ".weights.safetensors"))
    tensors = {k: v for k, v in tensors.items() if not k.endswith("relative_position_index")}
    write(os.path.join(DST, name + ".weights.safetensors"), meta, tensors)
for name in ("softmoe_padded", "softmoe_masked"):
    shutil.copyfile(os.path.join(SRC, name + ".safetensors"), os.path.join(DST, name + ".safetensors"))
for name in sorted(os.listdir(os.path.join(SRC, "checkpoints"))):
    shutil.copyfile(os.path.join(SRC, "checkpoints", name), os.path.join(DST, "checkpoints", name))
