"""Writes torch tensors as a safetensors file (the format the C++ tests read), for the reference
generators in tools/. Debian's python3-torch has no safetensors package, hence this small writer."""
import json
import struct

import torch

_DTYPE_NAMES = {torch.float16: "F16", torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for key, t in tensors.items():
        raw = t.contiguous().numpy().tobytes()
        header[key] = {"dtype": _DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
