#!/usr/bin/env python3
"""Reference data for the segmentation and layer tests, made with MONAI 1.3.2 and the official Swin SMT.

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
  labels15  the same pipeline with Spacingd(pixdim, mode="bilinear") after Orientationd, and
            Invertd(nearest_interp=True) back to the input grid: without arguments
            tests/data/example_ct_ref_labels_1p5.nii.gz (examples/data/example_ct.nii.gz, 1.5 mm),
            tests/data/example_ct_aniso_lps_ref_labels_1p5.nii.gz (1.5 mm) and
            tests/data/example_ct_sm_ref_labels_1p5x1p5x2.nii.gz (1.5 x 1.5 x 2 mm); makes
            tests/data/example_ct_aniso_lps.nii.gz first when it is missing.
  aniso     tests/data/example_ct_aniso_lps.nii.gz: example_ct_sm.nii.gz resampled to 0.8 x 0.8 x
            2.5 mm, cropped in-plane, stored LPS (int16, qform and sform code 1).
  spacing   tests/data/spacing_reference.safetensors: MONAI Orientationd RAS + Spacingd (bilinear,
            default arguments) on small synthetic images (output, output affine) and Invertd
            (nearest_interp=True) of a label map on the resampled grid back to the input grid.
  affines   tests/data/affines/*.nii.gz (tiny images with qform/sform code combinations, an
            oblique sform) and tests/data/nifti_affine_reference.json: nibabel's affine, qform,
            sform, axis codes and raw header fields, and MONAI LoadImage + EnsureChannelFirst +
            Orientation RAS of each.
  shiftmask tests/data/shift_mask_reference.safetensors: the official BasicLayer's shift mask
            (swin_smt.py get_window_size + compute_mask over the padded stage) for stages that
            shift along all three axes, along two (one axis shrunk to the stage), and with padding;
            stored U8, 1 where the official mask is -100 (it holds only -100 and 0).
  orientation  tests/data/orientation_reference.safetensors (nibabel io_orientation, MONAI
            Orientation and ScaleIntensityRange), tests/data/nifti_reference.json (nibabel's reading
            of the NIfTI test files) and tests/data/bad/ (2-D and 4-D images).

Usage (Debian's python3 with torch 1.13; PYTHONPATH as in tools/official_model.py):
  python3 tools/make_segment_references.py windows
  python3 tools/make_segment_references.py orientation
  python3 tools/make_segment_references.py spacing
  python3 tools/make_segment_references.py affines
  python3 tools/make_segment_references.py labels CT.nii.gz OUT.nii.gz
  python3 tools/make_segment_references.py labels15 [CT.nii.gz OUT.nii.gz [PX,PY,PZ]]
  python3 tools/make_segment_references.py aniso
  python3 tools/make_segment_references.py shiftmask
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
import safetensors_writer  # noqa: E402
from safetensors_writer import write_safetensors  # noqa: E402

# The C++ reader knows F64 and U8 as well; the spacing references use them (exact affines, labels).
safetensors_writer._DTYPE_NAMES.setdefault(torch.float64, "F64")
safetensors_writer._DTYPE_NAMES.setdefault(torch.uint8, "U8")

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


# Synthetic spacing cases: name, shape, input affine, target pixdim. The pipeline orients to RAS
# first, so "lps" is resampled after Orientation; "noop" is within MONAI's AFFINE_TOL (1e-3) of the
# target and is not resampled at all; "ties" puts inverse (nearest) sample positions on exact halves;
# "sheared" is the only one where MONAI centres the output grid instead of keeping the first corner.
def _spacing_cases():
    angle = np.deg2rad(20.0)
    rot_z = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])

    def affine(m, origin):
        a = np.eye(4)
        a[:3, :3] = m
        a[:3, 3] = origin
        return a

    return [
        ("ras3", (11, 9, 7), affine(np.diag([3.0, 3.0, 3.0]), [-15.0, -12.0, 9.0]), (1.5, 1.5, 1.5)),
        ("aniso_origin", (20, 17, 9), affine(np.diag([0.8, 0.8, 2.5]), [-7.6, 12.4, -30.3]), (1.5, 1.5, 1.5)),
        ("lps", (20, 17, 9), affine(np.diag([-0.8, -0.8, 2.5]), [7.6, 6.4, -10.0]), (1.5, 1.5, 1.5)),
        ("target_aniso", (11, 9, 7), affine(np.diag([3.0, 3.0, 3.0]), [1.0, 2.0, 3.0]), (1.5, 1.5, 2.0)),
        ("mixed", (13, 10, 8), affine(np.diag([1.0, 2.2, 1.5]), [0.25, -3.5, 4.0]), (1.5, 1.5, 1.5)),
        ("ties", (11, 9, 7), affine(np.diag([1.0, 2.0, 3.0]), [0.0, 0.0, 0.0]), (2.0, 1.0, 2.0)),
        ("oblique", (12, 10, 8), affine(rot_z @ np.diag([1.2, 1.0, 2.0]), [5.0, -7.0, 11.0]), (1.5, 1.5, 1.5)),
        # Gantry-tilt-like shear (z column tilted in y): no corner is minimal, the output is centred.
        ("sheared", (10, 9, 8), affine([[1.0, 0.0, 0.0], [0.0, 1.0, -0.6], [0.0, 0.0, 2.0]], [2.0, -3.0, 1.0]), (1.5, 1.5, 1.5)),
        ("noop", (9, 8, 7), affine(np.diag([1.5004, 1.4999, 1.5]), [1.0, 1.0, 1.0]), (1.5, 1.5, 1.5)),
    ]


def _pattern(shape):
    """A smooth deterministic float image (sin/cos of the indices)."""
    i, j, k = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    return (100.0 * np.sin(0.7 * i + 0.2) * np.cos(0.45 * j) + 10.0 * k + 3.0 * i * j / (1.0 + k)).astype(np.float32)


def _label_pattern(shape):
    """A uint8 label map (labels 0..10) whose neighbours differ along every axis, so that every
    rounding decision of the nearest-neighbour inversion (ties included) shows in the result."""
    i, j, k = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return ((3 * i + 5 * j + 7 * k) % 11).astype(np.uint8)


def spacing():
    """MONAI Spacing (bilinear, defaults) after Orientation RAS, and Invertd(nearest_interp=True)
    of a label map on the resampled grid back to the input grid."""
    from monai.data import MetaTensor
    from monai.transforms import Compose, Invertd, Orientation, Orientationd, Spacing, Spacingd

    out, cases = {}, []
    for name, shape, affine, pixdim in _spacing_cases():
        image = _pattern(shape)
        pipeline = Compose([
            Orientationd(keys="image", axcodes="RAS"),
            Spacingd(keys="image", pixdim=pixdim, mode="bilinear"),
        ])
        data = pipeline({"image": MetaTensor(torch.from_numpy(image)[None], affine=torch.as_tensor(affine))})
        spaced = data["image"]
        # The array transforms give the same result.
        oriented = Orientation(axcodes="RAS")(MetaTensor(torch.from_numpy(image)[None], affine=torch.as_tensor(affine)))
        check = Spacing(pixdim=pixdim, mode="bilinear")(oriented)
        assert torch.equal(check.as_tensor(), spaced.as_tensor()) and torch.equal(check.affine, spaced.affine)
        # A label map on the resampled grid, inverted as Invertd does it for a prediction.
        pred = _label_pattern(tuple(spaced.shape[1:]))
        data["pred"] = MetaTensor(torch.from_numpy(pred)[None], affine=spaced.affine)
        data["pred"].applied_operations = spaced.applied_operations
        inverted = Invertd(keys="pred", transform=pipeline, orig_keys="image", nearest_interp=True)(data)["pred"]
        assert tuple(inverted.shape[1:]) == shape, (inverted.shape, shape)
        values = inverted.as_tensor()[0]
        assert torch.equal(values, values.round()), "nearest inversion gives whole labels"
        out[f"{name}.input"] = torch.from_numpy(image)
        out[f"{name}.affine"] = torch.as_tensor(affine, dtype=torch.float64)
        out[f"{name}.oriented_affine"] = oriented.affine.to(torch.float64)
        out[f"{name}.spaced"] = spaced.as_tensor()[0].to(torch.float32).contiguous()
        out[f"{name}.spaced_affine"] = spaced.affine.to(torch.float64)
        out[f"{name}.pred"] = torch.from_numpy(pred)
        out[f"{name}.inverted"] = values.to(torch.uint8)
        out[f"{name}.inverted_affine"] = inverted.affine.to(torch.float64)
        cases.append({"name": name, "shape": list(shape), "pixdim": list(pixdim),
                      "spaced_shape": list(spaced.shape[1:])})
        print(f"{name}: {shape} -> {tuple(spaced.shape[1:])}")
    meta = {"cases": json.dumps(cases),
            "transforms": "Orientationd(RAS), Spacingd(pixdim, mode=bilinear); Invertd(nearest_interp=True)"}
    write_safetensors("tests/data/spacing_reference.safetensors", out, meta)
    print("wrote tests/data/spacing_reference.safetensors:", len(out), "tensors")


def _official_windows(batch, what):
    """sliding_window_inference of the reference settings (roi 64, overlap 0.5, gaussian, one window
    per call) with the official model and weights/swinsmt_f12_random.pth; prints windows and time."""
    from official_model import load_example_model

    model = load_example_model(WEIGHTS)
    count = [0]

    def predictor(x):
        count[0] += 1
        return model(x)

    start = time.time()
    with torch.no_grad():
        logits = sliding_window_inference(batch, (64, 64, 64), 1, predictor, overlap=0.5, mode="gaussian")
    print(f"{what}: {count[0]} windows in {time.time() - start:.1f} s")
    return logits


def labels(ct_path, out_path):
    import nibabel as nib
    from monai.data import MetaTensor
    from monai.transforms import Compose, EnsureChannelFirst, LoadImage, Orientation, ScaleIntensityRange

    transform = Compose([
        LoadImage(image_only=True),
        EnsureChannelFirst(),
        Orientation(axcodes="RAS"),
        ScaleIntensityRange(a_min=-1024, a_max=1024, b_min=0.0, b_max=1.0, clip=True),
    ])
    image = transform(ct_path)
    logits = _official_windows(image.as_tensor()[None], ct_path)
    label = torch.argmax(logits, dim=1)[0].to(torch.uint8)
    # Back to the input orientation, as MONAI's Orientation.inverse does it: Orientation to the
    # input's own axis codes (flips/permutations only).
    src = nib.load(ct_path)
    restored = Orientation(axcodes="".join(nib.aff2axcodes(src.affine)))(
        MetaTensor(label[None], affine=image.affine))
    _save_labels(src, np.asarray(restored)[0].astype(np.uint8), out_path)


def _save_labels(src, data, out_path):
    """Stores a uint8 label map in the geometry of the nibabel image src (affine, qform, sform)."""
    import nibabel as nib

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


ANISO_CT = "tests/data/example_ct_aniso_lps.nii.gz"


def make_aniso_lps():
    """tests/data/example_ct_aniso_lps.nii.gz: example_ct_sm.nii.gz (3 mm, RAS) resampled trilinearly
    to 0.8 x 0.8 x 2.5 mm, cropped in-plane to 200 x 180 voxels around the body, stored LPS (x and y
    flipped), int16, qform and sform code 1."""
    import nibabel as nib
    from scipy.ndimage import map_coordinates

    src = nib.load("tests/data/example_ct_sm.nii.gz")
    assert np.allclose(src.affine[:3, :3], np.diag([3.0, 3.0, 3.0]))
    volume = np.asanyarray(src.dataobj).astype(np.float64)
    spacing = np.array([0.8, 0.8, 2.5])
    full = np.floor((np.array(volume.shape) - 1) * 3.0 / spacing + 1e-9).astype(int) + 1
    # In-plane crop of 200 x 180 voxels centred on the body (HU > -500), all slices.
    body = np.argwhere(volume > -500)
    centre = (body.min(0) + body.max(0)) / 2.0 * 3.0 / spacing
    size = np.array([200, 180, full[2]])
    start = np.clip(np.round(centre - size / 2.0).astype(int), 0, full - size)
    start[2] = 0
    grid = np.meshgrid(*[(start[a] + np.arange(size[a])) * spacing[a] / 3.0 for a in range(3)], indexing="ij")
    ras = np.round(map_coordinates(volume, grid, order=1, mode="nearest")).astype(np.int16)
    ras_affine = np.eye(4)
    ras_affine[:3, :3] = np.diag(spacing)
    ras_affine[:3, 3] = src.affine[:3, 3] + start * spacing
    # LPS storage: flip x and y.
    lps = np.ascontiguousarray(ras[::-1, ::-1, :])
    affine = ras_affine.copy()
    affine[0, 0], affine[1, 1] = -spacing[0], -spacing[1]
    affine[0, 3] += spacing[0] * (size[0] - 1)
    affine[1, 3] += spacing[1] * (size[1] - 1)
    image = nib.Nifti1Image(lps, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, ANISO_CT)
    print(f"wrote {ANISO_CT}: shape {lps.shape}, axcodes {''.join(nib.aff2axcodes(affine))}, "
          f"{os.path.getsize(ANISO_CT)} bytes")


def labels15(ct_path, out_path, pixdim=(1.5, 1.5, 1.5)):
    """The official pipeline with resampling: LoadImaged, EnsureChannelFirstd, Orientationd RAS,
    Spacingd(pixdim, bilinear), ScaleIntensityRanged; sliding_window_inference (64, overlap 0.5,
    gaussian, sw_batch_size 1); argmax; Invertd(nearest_interp=True) back to the input grid."""
    import nibabel as nib
    from monai.data import MetaTensor
    from monai.transforms import (Compose, EnsureChannelFirstd, Invertd, LoadImaged, Orientationd,
                                  ScaleIntensityRanged, Spacingd)

    preprocess = Compose([
        LoadImaged(keys="image"),
        EnsureChannelFirstd(keys="image"),
        Orientationd(keys="image", axcodes="RAS"),
        Spacingd(keys="image", pixdim=pixdim, mode="bilinear"),
        ScaleIntensityRanged(keys="image", a_min=-1024, a_max=1024, b_min=0.0, b_max=1.0, clip=True),
    ])
    data = preprocess({"image": ct_path})
    image = data["image"]
    logits = _official_windows(image[None], f"{ct_path} at {pixdim} (resampled {tuple(image.shape[1:])})")
    pred = torch.argmax(torch.as_tensor(logits), dim=1, keepdim=True)[0]
    data["pred"] = MetaTensor(pred, meta=image.meta, applied_operations=image.applied_operations)
    inverted = Invertd(keys="pred", transform=preprocess, orig_keys="image", nearest_interp=True)(data)["pred"]
    values = inverted.as_tensor()[0]
    assert torch.equal(values, values.round()) and values.min() >= 0 and values.max() < 256
    _save_labels(nib.load(ct_path), values.numpy().astype(np.uint8), out_path)


LABELS15_RUNS = [
    ("examples/data/example_ct.nii.gz", "tests/data/example_ct_ref_labels_1p5.nii.gz", (1.5, 1.5, 1.5)),
    (ANISO_CT, "tests/data/example_ct_aniso_lps_ref_labels_1p5.nii.gz", (1.5, 1.5, 1.5)),
    ("tests/data/example_ct_sm.nii.gz", "tests/data/example_ct_sm_ref_labels_1p5x1p5x2.nii.gz", (1.5, 1.5, 2.0)),
]


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


def _affine_cases():
    """Raw header fields of the tests/data/affines/ files: (name, pixdim[0..3], quatern b/c/d, qoffset,
    srow rows (3 x 4), qform_code, sform_code). Fields whose code is 0 hold values that must be ignored."""
    half = np.deg2rad(30.0) / 2.0
    axis = np.array([1.0, 1.0, 1.0]) / np.sqrt(3.0)
    quat = np.sin(half) * axis  # 30 degrees about (1, 1, 1)
    angle = np.deg2rad(20.0)
    rot_z = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    oblique = np.hstack([rot_z @ np.diag([1.2, 1.2, 2.0]), [[12.5], [-30.0], [7.0]]])
    garbage_srow = [[0.5, 0.1, 0.0, 7.0], [0.0, 0.6, 0.2, -8.0], [0.3, 0.0, 0.7, 9.0]]
    return [
        # Both codes 0: nibabel (and so MONAI) uses the Analyze base affine, everything else ignored.
        ("codes_0_0", [1.0, 1.5, 2.0, 3.0], [0.1, 0.2, 0.3], [10.0, -20.0, 30.0], garbage_srow, 0, 0),
        # qform only (code 1), rotation 30 degrees about (1, 1, 1), qfac -1 (z flipped).
        ("qform_only", [-1.0, 0.9, 1.1, 2.5], list(quat), [-90.5, 120.25, -45.0], garbage_srow, 1, 0),
        # sform only (code 2), LPS; the quaternion fields are ignored.
        ("sform_only", [1.0, 0.75, 0.75, 3.0], [0.1, 0.2, 0.3], [1.0, 2.0, 3.0],
         [[-0.75, 0.0, 0.0, 100.0], [0.0, -0.75, 0.0, 120.0], [0.0, 0.0, 3.0, -50.0]], 0, 2),
        # Both set (code 1 each) and different: nibabel's best affine is the sform. Its voxel sizes
        # (2 mm) differ from pixdim (1 mm), so MONAI's NibabelReader (correct_nifti_header_if_necessary)
        # replaces the sform by the qform: MONAI's affine is the qform here.
        ("both_differ", [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-5.0, -6.0, -7.0],
         [[2.0, 0.0, 0.0, 11.0], [0.0, 2.0, 0.0, 12.0], [0.0, 0.0, 2.0, 13.0]], 1, 1),
        # Both set and different, sform voxel sizes equal to pixdim: nibabel and MONAI use the sform.
        ("both_differ_same_zooms", [1.0, 1.5, 1.5, 1.5], list(quat), [-5.0, -6.0, -7.0],
         [[1.5, 0.0, 0.0, 20.0], [0.0, 1.5, 0.0, 30.0], [0.0, 0.0, 1.5, 40.0]], 1, 1),
        # sform only (code 2) whose voxel sizes (2 mm, LPS) differ from pixdim (1 mm): nibabel uses the
        # sform; MONAI replaces it by the uncoded qform (quaternion 0, qoffset): RAS 1 mm.
        ("sform_zooms_mismatch", [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0],
         [[-2.0, 0.0, 0.0, 50.0], [0.0, -2.0, 0.0, 60.0], [0.0, 0.0, 2.0, 70.0]], 0, 2),
        # Oblique sform (20 degrees about z), qform code 0.
        ("oblique_sform", [1.0, 1.2, 1.2, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], oblique.tolist(), 0, 1),
    ]


def affines():
    """tests/data/affines/*.nii.gz (4 x 3 x 2, int16) with qform/sform code combinations and
    tests/data/nifti_affine_reference.json: nibabel's reading of them (affine, qform, sform, axis
    codes, raw fields) and MONAI LoadImage + EnsureChannelFirst + Orientation RAS."""
    import nibabel as nib
    from monai.transforms import EnsureChannelFirst, LoadImage, Orientation

    os.makedirs("tests/data/affines", exist_ok=True)
    data = np.arange(4 * 3 * 2, dtype=np.int16).reshape(4, 3, 2)
    files = {}
    for name, pixdim, quatern, qoffset, srow, qform_code, sform_code in _affine_cases():
        header = nib.Nifti1Header()
        header.set_data_dtype(np.int16)
        header.set_data_shape(data.shape)
        header["pixdim"][:4] = pixdim
        header["quatern_b"], header["quatern_c"], header["quatern_d"] = quatern
        header["qoffset_x"], header["qoffset_y"], header["qoffset_z"] = qoffset
        header["srow_x"], header["srow_y"], header["srow_z"] = srow
        header["qform_code"], header["sform_code"] = qform_code, sform_code
        header.set_xyzt_units("mm", "sec")
        path = f"tests/data/affines/{name}.nii.gz"
        nib.save(nib.Nifti1Image(data, None, header=header), path)  # no affine: the raw fields stay

        img = nib.load(path)
        hdr = img.header
        assert int(hdr["qform_code"]) == qform_code and int(hdr["sform_code"]) == sform_code
        assert np.array_equal(np.asanyarray(img.dataobj), data)
        loaded = EnsureChannelFirst()(LoadImage(image_only=True)(path))
        oriented = Orientation(axcodes="RAS")(loaded)
        files[name] = {
            "file": path.split("tests/data/")[1],
            "shape": list(img.shape),
            "raw": {
                "pixdim": [float(v) for v in hdr["pixdim"]],
                "quatern_bcd": [float(hdr[k]) for k in ("quatern_b", "quatern_c", "quatern_d")],
                "qoffset": [float(hdr[k]) for k in ("qoffset_x", "qoffset_y", "qoffset_z")],
                "srow": [[float(v) for v in hdr[k]] for k in ("srow_x", "srow_y", "srow_z")],
                "qform_code": int(hdr["qform_code"]),
                "sform_code": int(hdr["sform_code"]),
            },
            "affine": img.affine.tolist(),
            "best_affine": hdr.get_best_affine().tolist(),
            "qform": img.get_qform().tolist(),
            "sform": img.get_sform().tolist(),
            "base_affine": hdr.get_base_affine().tolist(),
            "quaternion": [float(v) for v in hdr.get_qform_quaternion()],
            "axcodes": "".join(nib.aff2axcodes(img.affine)),
            "monai_affine": loaded.affine.tolist(),
            "monai_ras_affine": oriented.affine.tolist(),
            "monai_ras_shape": list(oriented.shape[1:]),
            "monai_ras_data": oriented.as_tensor()[0].to(torch.int64).tolist(),
        }
        print(f"{path}: codes {qform_code}/{sform_code}, {files[name]['axcodes']}")
    files["_notes"] = {
        "best_affine": "nibabel: sform if sform_code != 0, else qform if qform_code != 0, else the "
                       "Analyze base affine; img.affine and MONAI's LoadImage affine are that.",
        "codes_0_0": "Analyze base affine (shape_zoom_affine with x_flip): diag(-pixdim1, pixdim2, "
                     "pixdim3), translation (+pixdim1 * (nx - 1) / 2, -pixdim2 * (ny - 1) / 2, "
                     "-pixdim3 * (nz - 1) / 2): voxel centre of the image at the world origin, x "
                     "flipped (LAS); qoffset, quatern and srow are ignored.",
        "monai_affine": "MONAI 1.3.2's NibabelReader runs correct_nifti_header_if_necessary: when the "
                        "column norms of nibabel's affine differ from pixdim[1:4] (np.allclose) and "
                        "sform_code != 0, a sform whose norms differ from pixdim is replaced by the qform "
                        "(get_qform(), even with qform_code 0) if the qform's norms match pixdim; "
                        "otherwise only the header zooms change. See both_differ, sform_zooms_mismatch.",
        "raw": "header fields as stored (float32 values shown exactly as float64).",
        "monai_ras_data": "data after LoadImage + EnsureChannelFirst + Orientation('RAS'), channel dropped; "
                          "the stored data are arange(24).reshape(4, 3, 2) (C order).",
    }
    with open("tests/data/nifti_affine_reference.json", "w") as f:
        json.dump(files, f, indent=1)
    print("wrote tests/data/nifti_affine_reference.json")


def shiftmask():
    from swin_smt import compute_mask, get_window_size

    tensors, stages = {}, {}
    for name, stage in {"d8h8w8": (8, 8, 8), "d10h10w4": (10, 10, 4), "d5h9w11": (5, 9, 11)}.items():
        window, shift = get_window_size(stage, (7, 7, 7), (3, 3, 3))
        padded = [int(np.ceil(d / w)) * w for d, w in zip(stage, window)]
        mask = compute_mask(padded, window, shift, torch.device("cpu"))
        values = torch.unique(mask).tolist()
        assert set(values) <= {-100.0, 0.0}, values
        tensors[name] = (mask == -100.0).to(torch.uint8).contiguous()
        stages[name] = dict(stage=list(stage), window=list(window), shift=list(shift), padded=padded)
    out = "tests/data/shift_mask_reference.safetensors"
    write_safetensors(out, tensors, {"stages": json.dumps(stages)})
    print(out, stages)


if __name__ == "__main__":
    if sys.argv[1] == "windows":
        windows()
    elif sys.argv[1] == "orientation":
        orientation()
    elif sys.argv[1] == "spacing":
        spacing()
    elif sys.argv[1] == "labels":
        labels(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "affines":
        affines()
    elif sys.argv[1] == "shiftmask":
        shiftmask()
    elif sys.argv[1] == "aniso":
        make_aniso_lps()
    elif sys.argv[1] == "labels15" and len(sys.argv) > 2:
        pixdim = tuple(float(v) for v in sys.argv[4].split(",")) if len(sys.argv) > 4 else (1.5, 1.5, 1.5)
        labels15(sys.argv[2], sys.argv[3], pixdim)
    elif sys.argv[1] == "labels15":
        if not os.path.exists(ANISO_CT):
            make_aniso_lps()
        for ct_path, out_path, pixdim in LABELS15_RUNS:
            labels15(ct_path, out_path, pixdim)
    else:
        raise SystemExit(__doc__)
