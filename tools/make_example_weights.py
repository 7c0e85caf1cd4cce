#!/usr/bin/env python3
"""Writes weights/swinsmt_f12_random.pth: the official SwinSMT (see tools/official_model.py for the
configuration) with the official initialisation after torch.manual_seed(0), UNTRAINED, saved as the
authors' training code saves checkpoints (Lightning-Fabric style {"model": state_dict, "step": 0},
torch.save zip) with floating tensors in float16 to halve the file.

Optional second argument: also write the same tensors as a .safetensors file (for development while a
build can only read safetensors; not committed).
Usage: python3 tools/make_example_weights.py weights/swinsmt_f12_random.pth [dev.safetensors]
"""
import json
import sys

import torch

torch.set_num_threads(1)
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from official_model import EXAMPLE_CONFIG, example_model  # noqa: E402
from safetensors_writer import write_safetensors  # noqa: E402




def main():
    torch.manual_seed(0)
    model = example_model()
    state = {k: (v.half() if v.is_floating_point() else v).clone() for k, v in model.state_dict().items()}
    torch.save({"model": state, "step": 0}, sys.argv[1])
    print(f"{sys.argv[1]}: {len(state)} tensors, {sum(p.numel() for p in model.parameters())} parameters")
    if len(sys.argv) > 2:
        config = {k: list(v) if isinstance(v, tuple) else v for k, v in EXAMPLE_CONFIG.items()}
        write_safetensors(sys.argv[2], state, {"config": json.dumps(config), "note": "random weights, seed 0"})


if __name__ == "__main__":
    main()
