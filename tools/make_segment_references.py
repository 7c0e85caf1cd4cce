#!/usr/bin/env python3
"""Reference data for the segmentation tests, made with MONAI 1.3.2 and the official Swin SMT.

  windows   tests/data/sliding_window_reference.safetensors: window start positions
            (MONAI _get_scan_interval + dense_patch_slices), importance maps
            (compute_importance_map, gaussian and constant, odd and even sizes) and whole
            sliding_window_inference results with a small deterministic predictor (including images
            smaller than the ROI, sw_batch_size > 1, overlap 0.25 / 0.5 / 0.7).
  labels    tests/data/<name>_ref_labels.nii.gz: the label map of the official pipeline (LoadImage,
            EnsureChannelFirst, Orientation RAS, ScaleIntensityRange -1024..1024 -> 0..1 clip,
            sliding_window_inference roi 64, overlap 0.5, gaussian, sw_batch_size 1, native
            spacing, argmax, back to the input orientation) with the official model and
            weights/swinsmt_f12_random.pth, stored uint8 in the input geometry.
  orientation  tests/data/orientation_reference.safetensors (nibabel io_orientation, MONAI
            Orientation and ScaleIntensityRange), tests/data/nifti_reference.json (nibabel's reading
            of the NIfTI test files) and tests/data/bad/ (2-D and 4-D images).

Usage (Debian's python3 with torch 1.13; PYTHONPATH as in tools/official_model.py):
  python3 tools/make_segment_references.py windows
  python3 tools/make_segment_references.py orientation
  python3 tools/make_segment_references.py labels CT.nii.gz OUT.nii.gz
"""
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
sys.path.insert(0, __file__.rsplit("/", 1)[0])

from monai.data.utils import compute_importance_map, dense_patch_slices  # noqa: E402
from monai.inferers.utils import _get_scan_interval, sliding_window_inference  # noqa: E402
from safetensors_writer import write_safetensors  # noqa: E402

WEIGHTS = "weights/swinsmt_f12_random.pth"




def test_predictor(x):
    """Deterministic, window-dependent (the per-window mean), two output channels. The C++ test
    implements the same function."""
    mean = x.mean(dim=(2, 3, 4), keepdim=True)
    return torch.cat([x * 2.0 + 1.0, x * x - mean], dim=1)


def windows():
    out, cases = {}, []
    # Window starts along each dimension for (image size, roi, overlap).
    for image, roi, overlap in [
        ((200, 200, 200), (96, 96, 96), 0.25),
        ((200, 200, 200), (96, 96, 96), 0.5),
        ((122, 101, 112), (64, 64, 64), 0.5),
        ((243, 201, 223), (128, 128, 128), 0.5),
        ((97, 64, 130), (64, 64, 64), 0.7),
        ((64, 65, 63), (64, 64, 64), 0.5),
        ((10, 33, 7), (8, 16, 4), 0.125),
    ]:
        interval = _get_scan_interval(image, roi, 3, (overlap,) * 3)
        slices = dense_patch_slices(image, roi, interval)
        name = f"starts.{len(cases)}"
        out[name] = torch.tensor([[s.start for s in sl] for sl in slices], dtype=torch.int64)
        cases.append({"name": name, "image": image, "roi": roi, "overlap": overlap})
    # Importance maps.
    for size in [(7, 9, 11), (8, 5, 6), (16, 31, 64), (3, 1, 2)]:
        for mode in ["gaussian", "constant"]:
            out[f"importance.{mode}.{'x'.join(map(str, size))}"] = compute_importance_map(size, mode=mode, sigma_scale=0.125)
    # Whole inferences with the test predictor.
    g = torch.Generator().manual_seed(0)
    for i, (shape, roi, overlap, mode, sw_batch) in enumerate([
        ((1, 1, 23, 17, 19), (8, 8, 8), 0.5, "gaussian", 1),
        ((1, 1, 23, 17, 19), (8, 6, 10), 0.25, "constant", 3),
        ((1, 1, 5, 9, 3), (8, 8, 8), 0.5, "gaussian", 2),  # smaller than the ROI in two dimensions
        ((1, 1, 20, 20, 20), (7, 9, 20), 0.7, "gaussian", 4),
    ]):
        x = torch.rand(shape, generator=g)
        y = sliding_window_inference(x, roi, sw_batch, test_predictor, overlap=overlap, mode=mode)
        out[f"swi.{i}.input"] = x
        out[f"swi.{i}.output"] = torch.as_tensor(y)
        cases.append({"name": f"swi.{i}", "roi": roi, "overlap": overlap, "mode": mode, "sw_batch_size": sw_batch})
    write_safetensors("tests/data/sliding_window_reference.safetensors", out, {"cases": json.dumps(cases)})
    print("wrote tests/data/sliding_window_reference.safetensors:", len(out), "tensors")


def labels(ct_path, out_path):
    import nibabel as nib
    from monai.data import MetaTensor
    from monai.transforms import Compose, EnsureChannelFirst, LoadImage, Orientation, ScaleIntensityRange

    from official_model import load_example_model

    transform = Compose([
        LoadImage(image_only=True),
        EnsureChannelFirst(),
        Orientation(axcodes="RAS"),
        ScaleIntensityRange(a_min=-1024, a_max=1024, b_min=0.0, b_max=1.0, clip=True),
    ])
    image = transform(ct_path)
    model = load_example_model(WEIGHTS)
    count = [0]

    def predictor(x):
        count[0] += 1
        return model(x)

    start = time.time()
    with torch.no_grad():
        logits = sliding_window_inference(
            image.as_tensor()[None], (64, 64, 64), 1, predictor, overlap=0.5, mode="gaussian")
    label = torch.argmax(logits, dim=1)[0].to(torch.uint8)
    print(f"{count[0]} windows in {time.time() - start:.1f} s")
    # Back to the input orientation, as MONAI's Orientation.inverse does it: Orientation to the
    # input's own axis codes (flips/permutations only).
    src = nib.load(ct_path)
    restored = Orientation(axcodes="".join(nib.aff2axcodes(src.affine)))(
        MetaTensor(label[None], affine=image.affine))
    data = np.asarray(restored)[0].astype(np.uint8)
    assert data.shape == src.shape, (data.shape, src.shape)
    header = src.header.copy()
    header.set_data_dtype(np.uint8)
    header.set_slope_inter(1, 0)
    result = nib.Nifti1Image(data, src.affine, header=header)
    result.set_qform(src.get_qform(), code=int(src.header["qform_code"]))
    result.set_sform(src.get_sform(), code=int(src.header["sform_code"]))
    nib.save(result, out_path)
    present = np.unique(data)
    print(f"wrote {out_path}: shape {data.shape}, {len(present) - (0 in present)} labels present")


def orientation():
    """nibabel io_orientation and MONAI Orientation("RAS") on small arrays with various affines,
    nibabel's reading of the NIfTI test files, ScaleIntensityRange, and tiny invalid images."""
    import nibabel as nib
    from monai.data import MetaTensor
    from monai.transforms import Orientation, ScaleIntensityRange

    out, names = {}, []
    rotation = np.array([[np.cos(0.5), -np.sin(0.5), 0], [np.sin(0.5), np.cos(0.5), 0], [0, 0, 1]])
    affines = {
        "ras": np.diag([1.5, 2.0, 3.0, 1.0]),
        "las": np.array([[-0.9765625, 0, 0, 249.5], [0, 0.9765625, 0, -100], [0, 0, 2.0, -300], [0, 0, 0, 1]]),
        "lps": np.diag([-1.0, -1.0, 2.5, 1.0]),
        "pir": np.array([[0, 0, -1.2, 10], [-0.8, 0, 0, 20], [0, -2.0, 0, 30], [0, 0, 0, 1.0]]),
        "oblique": np.block([[rotation @ np.diag([1.0, 1.5, 2.0]), np.array([[5.0], [-7.0], [11.0]])], [np.zeros((1, 3)), np.ones((1, 1))]]),
    }
    for name, affine in affines.items():
        data = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)  # channel-first
        result = Orientation(axcodes="RAS")(MetaTensor(data, affine=torch.as_tensor(affine)))
        out[f"orientation.{name}.affine"] = torch.as_tensor(affine, dtype=torch.float64).float()
        out[f"orientation.{name}.ornt"] = torch.as_tensor(nib.io_orientation(affine)).to(torch.int64)
        out[f"orientation.{name}.output"] = result.as_tensor().contiguous()
        out[f"orientation.{name}.output_affine"] = result.affine.to(torch.float32)
        names.append(name)
    x = torch.linspace(-3000, 3000, 101)
    out["scale_intensity.input"] = x
    out["scale_intensity.output"] = ScaleIntensityRange(a_min=-1024, a_max=1024, b_min=0.0, b_max=1.0, clip=True)(x)
    out["scale_intensity.output_narrow"] = ScaleIntensityRange(a_min=-160, a_max=240, b_min=0.0, b_max=1.0, clip=True)(x)
    write_safetensors("tests/data/orientation_reference.safetensors", out, {"affines": json.dumps(names)})
    # Float64 affines for exact comparisons are in the JSON below.

    files = {}
    for path in ["tests/data/example_ct_sm.nii.gz", "tests/data/example_seg_dicom.nii.gz"]:
        img = nib.load(path)
        canonical = nib.as_closest_canonical(img)
        data = np.asanyarray(img.dataobj)
        files[path.split("/")[-1]] = {
            "shape": list(img.shape),
            "affine": img.affine.tolist(),
            "qform_code": int(img.header["qform_code"]),
            "sform_code": int(img.header["sform_code"]),
            "qform": img.get_qform().tolist(),
            "sform": img.get_sform().tolist(),
            "zooms": [float(z) for z in img.header.get_zooms()],
            "xyzt_units": list(img.header.get_xyzt_units()),
            "axcodes": "".join(nib.aff2axcodes(img.affine)),
            "dtype": str(data.dtype),
            "sum": float(data.astype(np.float64).sum()),
            "value_at_1_2_3": float(data[1, 2, 3]),
            "canonical_affine": canonical.affine.tolist(),
            "canonical_shape": list(canonical.shape),
        }
    with open("tests/data/nifti_reference.json", "w") as f:
        json.dump(files, f, indent=1)

    os.makedirs("tests/data/bad", exist_ok=True)
    nib.save(nib.Nifti1Image(np.zeros((10, 12), np.int16), np.eye(4)), "tests/data/bad/image_2d.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((6, 5, 4, 3), np.int16), np.eye(4)), "tests/data/bad/image_4d.nii.gz")
    print("wrote tests/data/orientation_reference.safetensors, nifti_reference.json, bad/")


if __name__ == "__main__":
    if sys.argv[1] == "windows":
        windows()
    elif sys.argv[1] == "orientation":
        orientation()
    elif sys.argv[1] == "labels":
        labels(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
