#!/usr/bin/env python3
"""Writes synthetic CTs for bench/segment_memory.sh from the bundled one (examples/data/example_ct.nii.gz,
3 mm, RAS):
  whole_body_ct.nii.gz  512 x 512 x 900 voxels at 0.8 x 0.8 x 1.0 mm (the whole-body size of issue 15):
                        the CT resampled (linear) to that grid, mirrored along z until 900 slices, and
                        padded with air (-1024 HU) in x and y; int16.
  long_ct.nii.gz        the bundled CT three times along z (mirrored), same voxel size; int16.
Usage: /usr/bin/python3 bench/make_whole_body_ct.py OUT_FOLDER   (Debian's nibabel, numpy, scipy)
"""
import pathlib
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def mirrored(volume, slices):
    """`volume` repeated along z, every other copy flipped, cut to `slices`."""
    copies = []
    n = 0
    flip = False
    while n < slices:
        copies.append(volume[:, :, ::-1] if flip else volume)
        n += volume.shape[2]
        flip = not flip
    return np.concatenate(copies, axis=2)[:, :, :slices]


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    src = nib.load(str(pathlib.Path(__file__).resolve().parent.parent / "examples/data/example_ct.nii.gz"))
    ct = np.asarray(src.dataobj).astype(np.float32)
    spacing = np.abs(np.diag(src.affine)[:3])

    long_ct = mirrored(ct, 3 * ct.shape[2]).astype(np.int16)
    nib.save(nib.Nifti1Image(long_ct, src.affine), str(out / "long_ct.nii.gz"))

    target = np.array([0.8, 0.8, 1.0])
    zoomed = ndimage.zoom(ct, spacing / target, order=1, mode="nearest")
    body = mirrored(zoomed, 900)
    whole = np.full((512, 512, 900), -1024, dtype=np.int16)
    nx, ny = min(512, body.shape[0]), min(512, body.shape[1])
    x0, y0 = (512 - nx) // 2, (512 - ny) // 2
    whole[x0:x0 + nx, y0:y0 + ny, :] = np.clip(np.rint(body[:nx, :ny, :]), -32768, 32767).astype(np.int16)
    affine = np.diag([*target, 1.0])
    affine[:3, 3] = src.affine[:3, 3]
    nib.save(nib.Nifti1Image(whole, affine), str(out / "whole_body_ct.nii.gz"))
    print(f"{out}/long_ct.nii.gz {long_ct.shape}, {out}/whole_body_ct.nii.gz {whole.shape}")


if __name__ == "__main__":
    main()
