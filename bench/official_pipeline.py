#!/usr/bin/env python3
"""The official Swin SMT inference pipeline end to end on one CT, timed step by step, for
bench/segment_end_to_end.sh: MONAI 1.3 LoadImaged + EnsureChannelFirstd, Orientationd RAS, Spacingd
1.5 mm bilinear, ScaleIntensityRanged -1024..1024 -> 0..1 clip, sliding_window_inference roi 128,
overlap 0.5, gaussian, sw_batch_size 1; argmax; Invertd(nearest_interp=True) back to the input grid;
the label map written as NIfTI (uint8, the input's geometry). The model is the official SwinSMT in
the README configuration (feature 48, v2, 4 experts in 3 MoE stages, 118 classes).

  official_pipeline.py --make-checkpoint OUT.pth   the README configuration with the official
                                                   initialisation (seed 0), saved {"model": state_dict}
  official_pipeline.py CT WEIGHTS OUT.nii.gz       prints one JSON line: windows and the seconds of
                                                   each step (read, preprocessing, network,
                                                   aggregation, argmax, back to the input grid,
                                                   writing), threads, peak RSS

Needs Debian's python3 (torch 1.13) with PYTHONPATH as in tools/official_model.py plus tools/.
"""
import json
import os
import resource
import sys
import time

import numpy as np
import torch

from official_model import QuietSwinSMT

README_CONFIG = dict(img_size=(128, 128, 128), in_channels=1, out_channels=118, feature_size=48, use_v2=True,
                     use_moe=True, num_experts=4, num_layers_with_moe=3)


def make_checkpoint(path):
    torch.manual_seed(0)
    model = QuietSwinSMT(**README_CONFIG)
    torch.save({"model": model.state_dict()}, path)
    print(f"wrote {path}: {sum(p.numel() for p in model.parameters())} parameters")


def segment(ct_path, weights, out_path):
    import nibabel as nib
    from monai.data import MetaTensor
    from monai.inferers import sliding_window_inference
    from monai.transforms import (Compose, EnsureChannelFirstd, Invertd, LoadImaged, Orientationd,
                                  ScaleIntensityRanged, Spacingd)

    torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count())))
    model = QuietSwinSMT(**README_CONFIG)
    model.load_state_dict(torch.load(weights, map_location="cpu")["model"], strict=True)
    model.eval()
    seconds = {}
    started = time.perf_counter()
    load = Compose([LoadImaged(keys="image"), EnsureChannelFirstd(keys="image")])
    preprocess = Compose([
        Orientationd(keys="image", axcodes="RAS"),
        Spacingd(keys="image", pixdim=(1.5, 1.5, 1.5), mode="bilinear"),
        ScaleIntensityRanged(keys="image", a_min=-1024, a_max=1024, b_min=0.0, b_max=1.0, clip=True),
    ])
    data = load({"image": ct_path})
    seconds["read"] = time.perf_counter() - started
    step = time.perf_counter()
    data = preprocess(data)
    image = data["image"]
    seconds["preprocessing"] = time.perf_counter() - step

    network = [0.0, 0]

    def predictor(x):
        t = time.perf_counter()
        y = model(x)
        network[0] += time.perf_counter() - t
        network[1] += 1
        return y

    step = time.perf_counter()
    with torch.no_grad():
        logits = sliding_window_inference(image[None], (128, 128, 128), 1, predictor, overlap=0.5, mode="gaussian")
    seconds["network"] = network[0]
    seconds["aggregation"] = time.perf_counter() - step - network[0]
    step = time.perf_counter()
    pred = torch.argmax(torch.as_tensor(logits), dim=1, keepdim=True)[0]
    del logits
    seconds["argmax"] = time.perf_counter() - step
    step = time.perf_counter()
    data["pred"] = MetaTensor(pred, meta=image.meta, applied_operations=image.applied_operations)
    inverted = Invertd(keys="pred", transform=preprocess, orig_keys="image", nearest_interp=True)(data)["pred"]
    labels = inverted.as_tensor()[0].numpy().astype(np.uint8)
    seconds["back_to_input"] = time.perf_counter() - step
    step = time.perf_counter()
    src = nib.load(ct_path)
    header = src.header.copy()
    header.set_data_dtype(np.uint8)
    header.set_slope_inter(1, 0)
    nib.save(nib.Nifti1Image(labels, src.affine, header=header), out_path)
    seconds["writing"] = time.perf_counter() - step
    total = time.perf_counter() - started
    print(json.dumps({"implementation": "official", "ct": ct_path, "windows": network[1],
                      "grid": " x ".join(str(n) for n in image.shape[1:]), "threads": torch.get_num_threads(),
                      "seconds": round(total, 1), "steps": {k: round(v, 1) for k, v in seconds.items()},
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-checkpoint":
        make_checkpoint(sys.argv[2])
    elif len(sys.argv) == 4:
        segment(*sys.argv[1:])
    else:
        sys.exit(__doc__)
