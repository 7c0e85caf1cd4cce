#!/usr/bin/env python3
"""Writes small, complete CT slices (16 x 16 pixels) as fuzz seeds for fuzz_dicom:
tests/data/dicom_synthetic/explicit_le.dcm and implicit_le.dcm (also read by tests/dicom_structure_test.cpp). The bundled series is JPEG 2000 and larger
than the fuzzers' -max_len, so mutations of it mostly exercise truncation; these let the fuzzer
reach GDCM's data set parser and raw pixel decoding. Also writes the fuzz regression
tests/data/fuzz_regressions/dicom/gdcm_assert_mr_intercept_without_slope.dcm. Plain Python, no pydicom needed."""
import pathlib
import struct

LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


def pad(value: bytes, vr: str) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB") else b" "
    return value


def explicit(group, element, vr, value: bytes) -> bytes:
    value = pad(value, vr)
    head = struct.pack("<HH", group, element) + vr.encode()
    if vr in LONG_VRS:
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def implicit(group, element, vr, value: bytes) -> bytes:
    value = pad(value, vr)
    return struct.pack("<HHI", group, element, len(value)) + value


def us(v):
    return struct.pack("<H", v)


def slice_file(syntax: str, encode, sop_class=b"1.2.840.10008.5.1.4.1.1.2", slope=True) -> bytes:
    instance = b"1.2.826.0.1.3680043.2.1125.1"
    pixels = b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(16 * 16))
    data_set = b"".join([
        encode(0x0008, 0x0016, "UI", sop_class),
        encode(0x0008, 0x0018, "UI", instance),
        encode(0x0008, 0x0060, "CS", b"CT"),
        encode(0x0020, 0x000D, "UI", b"1.2.826.0.1.3680043.2.1125.2"),
        encode(0x0020, 0x000E, "UI", b"1.2.826.0.1.3680043.2.1125.3"),
        encode(0x0020, 0x0032, "DS", b"-100\\-120\\35.5"),
        encode(0x0020, 0x0037, "DS", b"1\\0\\0\\0\\1\\0"),
        encode(0x0028, 0x0002, "US", us(1)),
        encode(0x0028, 0x0004, "CS", b"MONOCHROME2"),
        encode(0x0028, 0x0010, "US", us(16)),
        encode(0x0028, 0x0011, "US", us(16)),
        encode(0x0028, 0x0030, "DS", b"0.75\\0.75"),
        encode(0x0028, 0x0100, "US", us(16)),
        encode(0x0028, 0x0101, "US", us(16)),
        encode(0x0028, 0x0102, "US", us(15)),
        encode(0x0028, 0x0103, "US", us(1)),
        encode(0x0028, 0x1052, "DS", b"0"),
        encode(0x0028, 0x1053, "DS", b"1") if slope else b"",
        encode(0x7FE0, 0x0010, "OW", pixels),
    ])
    meta = b"".join([
        explicit(0x0002, 0x0001, "OB", b"\0\1"),
        explicit(0x0002, 0x0002, "UI", sop_class),
        explicit(0x0002, 0x0003, "UI", instance),
        explicit(0x0002, 0x0010, "UI", syntax.encode()),
    ])
    group_length = explicit(0x0002, 0x0000, "UL", struct.pack("<I", len(meta)))
    return b"\0" * 128 + b"DICM" + group_length + meta + data_set


def mr_intercept_without_slope() -> bytes:
    """An MR slice with RescaleIntercept and no RescaleSlope: GDCM 3.0.21's ImageReader then takes
    slope 0 for MR Image Storage and aborts on its own assertion (found by fuzz_dicom)."""
    return slice_file("1.2.840.10008.1.2.1", explicit, sop_class=b"1.2.840.10008.5.1.4.1.1.4", slope=False)


def main():
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "dicom_synthetic"
    out.mkdir(parents=True, exist_ok=True)
    (out / "explicit_le.dcm").write_bytes(slice_file("1.2.840.10008.1.2.1", explicit))
    (out / "implicit_le.dcm").write_bytes(slice_file("1.2.840.10008.1.2", implicit))
    regressions = out.parent / "fuzz_regressions" / "dicom"
    (regressions / "gdcm_assert_mr_intercept_without_slope.dcm").write_bytes(mr_intercept_without_slope())


if __name__ == "__main__":
    main()
