#!/usr/bin/env python3
"""Reference data for the BTCV model-card parity test (issue 18), made with MONAI 1.3.2.

Writes
  tests/data/btcv_swinunetr_f12.pth              a MONAI SwinUNETR (no MoE, feature 12, 14 classes:
                                                  background + the 13 BTCV organs) with perturbed,
                                                  seeded weights, saved MONAI-style
                                                  (torch.save(model.state_dict()), float16 to halve
                                                  the file; the reference runs the same values in
                                                  float32)
  tests/data/example_ct_sm_btcv_ref_labels.nii.gz the BTCV bundle's own inference pipeline on
                                                  tests/data/example_ct_sm.nii.gz, uint8 labels

The pipeline is Project-MONAI/model-zoo models/swin_unetr_btcv_segmentation/configs/inference.json:
LoadImaged, EnsureChannelFirstd, Orientationd RAS, Spacingd 1.5/1.5/2.0 bilinear,
ScaleIntensityRanged -175..250 -> 0..1 clip, EnsureTyped; SlidingWindowInferer roi 96,
sw_batch_size 4, overlap 0.5 (its default constant blending); Activationsd softmax,
Invertd(nearest_interp=False), AsDiscreted argmax. Differences: nibabel reads the NIfTI instead of
ITK (the same RAS array and affine for this file), float32 on the CPU instead of AMP on a GPU.

Usage (Debian's python3 with torch 1.13; PYTHONPATH as in tools/official_model.py):
  python3 tools/make_btcv_reference.py
"""
import sys
import time

import numpy as np
import torch

torch.set_num_threads(2)
sys.path.insert(0, __file__.rsplit("/", 1)[0])

CT = "tests/data/example_ct_sm.nii.gz"
WEIGHTS = "tests/data/btcv_swinunetr_f12.pth"
LABELS = "tests/data/example_ct_sm_btcv_ref_labels.nii.gz"


def make_model():
    from monai.networks.nets import SwinUNETR

    torch.manual_seed(18)
    model = SwinUNETR(img_size=96, in_channels=1, out_channels=14, feature_size=12, use_checkpoint=False)
    # Perturbed: MONAI's initialisation leaves norms at 1 / 0 and gives a nearly constant label
    # map; noise on every floating-point tensor makes the labels depend on the image.
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(torch.randn_like(t) * (0.05 if t.dim() <= 1 else 0.02))
                # Stored float16: round now so the reference runs exactly the stored values.
                t.copy_(t.half().float())
    model.eval()
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(state, WEIGHTS)
    return model


def main():
    from monai.inferers import SlidingWindowInferer
    from monai.transforms import (Activationsd, AsDiscreted, Compose, EnsureChannelFirstd, EnsureTyped, Invertd,
                                  LoadImaged, Orientationd, ScaleIntensityRanged, Spacingd)
    import nibabel as nib
    from make_segment_references import _save_labels

    model = make_model()
    preprocessing = Compose([
        LoadImaged(keys="image"),
        EnsureChannelFirstd(keys="image"),
        Orientationd(keys="image", axcodes="RAS"),
        Spacingd(keys="image", pixdim=[1.5, 1.5, 2.0], mode="bilinear"),
        ScaleIntensityRanged(keys="image", a_min=-175, a_max=250, b_min=0.0, b_max=1.0, clip=True),
        EnsureTyped(keys="image"),
    ])
    postprocessing = Compose([
        Activationsd(keys="pred", softmax=True),
        Invertd(keys="pred", transform=preprocessing, orig_keys="image", nearest_interp=False, to_tensor=True),
        AsDiscreted(keys="pred", argmax=True),
    ])
    data = preprocessing({"image": CT})
    inferer = SlidingWindowInferer(roi_size=[96, 96, 96], sw_batch_size=4, overlap=0.5)
    start = time.time()
    with torch.no_grad():
        pred = inferer(data["image"][None], model)
    print(f"{CT}: resampled {tuple(data['image'].shape[1:])}, inference {time.time() - start:.1f} s")
    data["pred"] = pred[0]
    values = postprocessing(data)["pred"].as_tensor()[0]
    assert torch.equal(values, values.round()) and values.min() >= 0 and values.max() < 256
    _save_labels(nib.load(CT), values.numpy().astype(np.uint8), LABELS)
    counts = np.bincount(values.numpy().astype(np.int64).ravel(), minlength=14)
    print("voxels per label:", counts.tolist())


if __name__ == "__main__":
    main()
