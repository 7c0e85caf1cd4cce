#!/usr/bin/python3
"""Writes the extra checkpoint files tests/checkpoint_test.cpp reads (tests/data/checkpoints/).

The reference fixtures cover the usual wrappings of one small state dict (tiny.*). These files cover
what they lack: other pickle protocols, ZIP64 and deflated archives, a big-endian archive, nn.Parameter
and tensor subclasses, saved CUDA locations, prefix chains, the MONAI tutorial's numpy/argparse
entries, and hostile files (os.system, short storage records, huge declared sizes, deep nesting).
Every well-formed case holds the tensors of tiny.state_dict.pth (views and shared storage intact), so
tiny.expected.safetensors is their expected content too.

Needs Debian's python3-torch (PyTorch 1.13) and numpy: run with /usr/bin/python3 from the repository
root:  /usr/bin/python3 tools/make_checkpoint_cases.py
"""
import argparse
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile
import zlib

import numpy as np
import torch

DIR = os.path.join("tests", "data", "checkpoints")
# The hostile os.system pickles would create this file if anything executed them.
MARKER = "/tmp/swinsmt_os_system_marker"


def path(name):
    return os.path.join(DIR, name)


def load_tiny():
    sd = torch.load(path("tiny.state_dict.pth"))
    # torch.load keeps the storage sharing of the saved views; check it so the cases test it too.
    assert sd["lin.weight_view"].storage().data_ptr() == sd["lin.weight_t"].storage().data_ptr()
    assert sd["tied"].storage().data_ptr() == sd["lin.weight_t"].storage().data_ptr()
    return sd


def save_bytes(obj, **kwargs):
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def zip_records(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return [(info.filename, z.read(info.filename)) for info in z.infolist()]


def write_zip(name, records, zip64=False, deflate=False, align=64):
    """A ZIP archive like torch's writer makes (stored records, data aligned to 64 bytes through
    an extra field), optionally deflated, optionally with ZIP64 fields and end records throughout."""
    out = bytearray()
    central = bytearray()
    for rec_name, data in records:
        raw = rec_name.encode()
        crc = zlib.crc32(data)
        payload = data
        method = 0
        if deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
            method = 8
        offset = len(out)
        local_extra = b""
        if zip64:
            local_extra += struct.pack("<HHQQ", 1, 16, len(data), len(payload))
        pad = (-(offset + 30 + len(raw) + len(local_extra) + 4)) % align
        local_extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(payload), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, method, 0, 0x21, crc,
                           sizes[0], sizes[1], len(raw), len(local_extra))
        out += raw + local_extra + payload
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(payload), offset) if zip64 else b""
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if zip64 else 20, 45 if zip64 else 20, 0,
                               method, 0, 0x21, crc, sizes[0], sizes[1], len(raw), len(central_extra), 0, 0, 0, 0,
                               0xFFFFFFFF if zip64 else offset)
        central += raw + central_extra
    cd_offset = len(out)
    out += central
    n = len(records)
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), cd_offset, 0)
    with open(path(name), "wb") as f:
        f.write(out)
    with zipfile.ZipFile(path(name)) as z:  # Python's reader agrees it is a valid archive
        assert z.testzip() is None, name


def write(name, blob):
    with open(path(name), "wb") as f:
        f.write(blob)


def check_equal(name, expected):
    """torch.load reads the file back to the same tensors (skipped for files only we read)."""
    got = torch.load(path(name), map_location="cpu")
    for key in ("state_dict", "model", "network"):
        if isinstance(got, dict) and key in got and isinstance(got[key], dict):
            got = got[key]
    got = {k.split(".", 1)[1] if k.startswith(("module.", "net.")) else k: v for k, v in got.items()}
    got = {k[len("_orig_mod."):] if k.startswith("_orig_mod.") else k: v for k, v in got.items()}
    for k, v in expected.items():
        assert torch.equal(got[k], v), (name, k)


def legacy_big_endian(blob):
    """tiny.legacy.pth as a big-endian machine would have written it."""
    widths = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8, "LongStorage": 8,
              "BoolStorage": 1}
    key_width = {}

    class Scan(pickle.Unpickler):  # records each storage's element width; builds nothing
        def persistent_load(self, pid):
            key_width[pid[2]] = widths[pid[1]]

        def find_class(self, module, name):
            if name == "OrderedDict":
                return collections.OrderedDict
            return name if name.endswith("Storage") else (lambda *args: None)

    f = io.BytesIO(blob)
    for _ in range(2):
        pickle.load(f)
    sys_info_start = f.tell()
    pickle.load(f)
    sys_info = blob[sys_info_start:f.tell()]
    assert sys_info.count(b"\x88") == 1  # NEWTRUE of little_endian
    Scan(f).load()
    keys = pickle.load(f)
    out = bytearray(blob[:sys_info_start]) + sys_info.replace(b"\x88", b"\x89") + blob[sys_info_start + len(sys_info):f.tell()]
    pos = f.tell()
    for key in keys:
        width = key_width[key]
        (count,) = struct.unpack("<q", blob[pos:pos + 8])
        data = blob[pos + 8:pos + 8 + count * width]
        out += struct.pack(">q", count) + b"".join(data[i:i + width][::-1] for i in range(0, len(data), width))
        pos += 8 + count * width
    assert pos == len(blob)
    return bytes(out)


# --- hand-written pickles -------------------------------------------------------------------------
class P:
    """Minimal pickle opcode writer for files Python's pickler would not produce."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, code):
        self.b += code
        return self

    def str(self, s):
        raw = s.encode()
        self.b += b"X" + struct.pack("<I", len(raw)) + raw
        return self

    def int(self, v):
        if 0 <= v < 256:
            self.b += b"K" + bytes([v])
        elif -(2**31) <= v < 2**31:
            self.b += b"J" + struct.pack("<i", v)
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.b += b"\x8a" + bytes([len(raw)]) + raw
        return self

    def glob(self, module, name):
        self.b += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        return self

    def tuple_of(self, values):
        self.b += b"("
        for v in values:
            self.int(v)
        self.b += b"t"
        return self

    def tensor(self, storage_type, key, numel, offset, size, stride, dtype=None):
        v3 = dtype is not None
        self.glob("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2").op(b"(")
        self.op(b"(").str("storage").glob("torch", storage_type).str(key).str("cpu").int(numel).op(b"tQ")
        self.int(offset).tuple_of(size).tuple_of(stride).op(b"\x89")
        self.glob("collections", "OrderedDict").op(b")R")
        if v3:
            self.glob("torch", dtype)
        return self.op(b"tR")

    def done(self):
        return bytes(self.b + b".")


def torch_zip(name, pickle_bytes, storages, prefix="archive"):
    records = [(prefix + "/data.pkl", pickle_bytes)]
    records += [(prefix + "/data/" + k, v) for k, v in storages.items()]
    records.append((prefix + "/version", b"3\n"))
    write_zip(name, records)


def main():
    os.makedirs(DIR, exist_ok=True)
    sd = load_tiny()

    # Pickle protocols 4 and 5 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL), zip and legacy.
    write("tiny.proto4.pth", save_bytes(sd, pickle_protocol=4))
    write("tiny.proto5.pth", save_bytes(sd, pickle_protocol=5))
    write("tiny.legacy_proto4.pth", save_bytes(sd, pickle_protocol=4, _use_new_zipfile_serialization=False))
    for name in ("tiny.proto4.pth", "tiny.proto5.pth", "tiny.legacy_proto4.pth"):
        check_equal(name, sd)

    # The MONAI tutorial's checkpoint: numpy scalar, argparse.Namespace, and other plain values.
    monai = {
        "epoch": 7,
        "best_acc": np.float64(0.8731),
        "args": argparse.Namespace(lr=1e-4, roi=(96, 96, 96), feature_size=48),
        "blob": b"\x00\x01binary",
        "big": 2**70,
        "neg_big": -(2**65),
        "i32": 2**31,
        "buffer": bytearray(b"xy"),
        "tags": {"ct", "mri"},
        "frozen": frozenset({3}),
        "nothing": None,
        "ratio": 0.25,
        "state_dict": sd,
    }
    write("tiny.monai.pth", save_bytes(monai))
    check_equal("tiny.monai.pth", sd)

    # nn.Parameter (torch._utils._rebuild_parameter) for the float tensors, requires_grad set.
    params = collections.OrderedDict(
        (k, torch.nn.Parameter(v, requires_grad=v.is_floating_point()) if v.is_floating_point() else v)
        for k, v in sd.items())
    write("tiny.params.pth", save_bytes(params))
    check_equal("tiny.params.pth", sd)

    # A tensor subclass (torch._tensor._rebuild_from_type_v2 around _rebuild_tensor_v2).
    class Annotated(torch.Tensor):
        pass

    # Registered under a module name the C++ reader cannot (and must not) import.
    Annotated.__module__, Annotated.__qualname__ = "annotations_lib", "Annotated"
    sys.modules["annotations_lib"] = types.ModuleType("annotations_lib")
    sys.modules["annotations_lib"].Annotated = Annotated
    sub = collections.OrderedDict((k, v.as_subclass(Annotated)) for k, v in sd.items())
    write("tiny.subclass.pth", save_bytes(sub))

    # Prefix chains and other locations: torch.compile inside DDP, "network" with "net." keys,
    # and a state dict two levels down.
    write("tiny.compiled_ddp.pth", save_bytes(collections.OrderedDict(("module._orig_mod." + k, v) for k, v in sd.items())))
    write("tiny.network.pth", save_bytes({"network": {"net." + k: v for k, v in sd.items()}, "epoch": 3}))
    write("tiny.nested.pth", save_bytes({"model": {"state_dict": sd, "arch": "tiny"}, "step": 5}))
    for name in ("tiny.compiled_ddp.pth", "tiny.network.pth"):
        check_equal(name, sd)

    # Storages saved from a GPU: the location tag is all that differs ("cuda:0"); faked here.
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        write("tiny.cuda.pth", save_bytes(sd))
        write("tiny.legacy_cuda.pth", save_bytes(sd, _use_new_zipfile_serialization=False))
    finally:
        torch.serialization.location_tag = original
    assert b"cuda:0" in open(path("tiny.cuda.pth"), "rb").read()

    # Archive variants of tiny.state_dict.pth: ZIP64 records, deflate with another prefix folder, and
    # a big-endian archive (byteorder record "big", every element byte-swapped).
    records = zip_records(open(path("tiny.state_dict.pth"), "rb").read())
    write_zip("tiny.zip64.pth", records, zip64=True)
    check_equal("tiny.zip64.pth", sd)
    renamed = [("exported/checkpoint-final/" + n.split("/", 1)[1], d) for n, d in records]
    write_zip("tiny.deflate.pth", renamed, deflate=True)
    # Element width of each storage record of tiny.state_dict.pth (see pickletools.dis of its data.pkl):
    # 0-2 and 9 float32, 3 float16, 4 bfloat16, 5 float64, 6 and 8 int64, 7 bool.
    width_of = {"0": 4, "1": 4, "2": 4, "3": 2, "4": 2, "5": 8, "6": 8, "7": 1, "8": 8, "9": 4}
    big = []
    for n, d in records:
        if "/data/" in n:
            key = n.rsplit("/", 1)[1]
            width = width_of[key]
            d = b"".join(d[i:i + width][::-1] for i in range(0, len(d), width))
        big.append((n, d))
    big.append(("tiny.state_dict/byteorder", b"big"))
    write_zip("tiny.bigendian.pth", big)

    # Old PyTorch named GPU storages torch.cuda.FloatStorage etc.; GLOBAL is text, so rename in place.
    with zipfile.ZipFile(path("tiny.cuda.pth")) as z:
        cuda_records = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    cuda_records = [(n, d.replace(b"ctorch\n", b"ctorch.cuda\n") if n.endswith("data.pkl") else d) for n, d in cuda_records]
    assert b"ctorch.cuda\nFloatStorage" in cuda_records[0][1]
    write_zip("tiny.cuda_types.pth", cuda_records)

    # A legacy file written on a big-endian machine: sys_info says little_endian=False, and every
    # element count and element is byte-swapped.
    write("tiny.legacy_bigendian.pth", legacy_big_endian(open(path("tiny.legacy.pth"), "rb").read()))

    # _rebuild_tensor_v3 on an untyped storage (PyTorch 2.x writes these for some dtypes).
    half = sd["half"].numpy().astype("<f2").tobytes()
    p = P().op(b"}").str("half").tensor("UntypedStorage", "0", len(half), 0, [5], [1], dtype="float16").op(b"s")
    torch_zip("tiny.v3.pth", p.done(), {"0": half})

    # Not checkpoints of a state dict: a whole pickled nn.Module and a TorchScript archive (refused
    # with a hint at what to save instead).
    torch.manual_seed(0)
    write("other.whole_module.pth", save_bytes(torch.nn.Linear(2, 2)))
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buf)
    write("other.torchscript.pt", buf.getvalue())

    # --- hostile files -------------------------------------------------------------------------
    # os.system at the top level, hand-written (GLOBAL 'os system', REDUCE).
    p = P().glob("os", "system").str("touch " + MARKER).op(b"\x85R")
    torch_zip("hostile.os_system.pth", p.done(), {})

    # os.system as an entry next to the state dict, as Python's pickler writes a __reduce__.
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + MARKER,))

    write("hostile.reduce_entry.pth", save_bytes({"state_dict": sd, "evil": Evil()}))

    # A storage record shorter than the tensor that uses it (the CRC is right: only the size lies).
    short = [(n, d[: len(d) // 2] if n.endswith("/data/0") else d) for n, d in records]
    write_zip("hostile.short_storage.pth", short)

    # A 50000 x 50000 float tensor (10 GB) declared over a 64 KiB record.
    p = P().op(b"}").str("w").tensor("FloatStorage", "0", 50000 * 50000, 0, [50000, 50000], [50000, 1]).op(b"s")
    torch_zip("hostile.huge_size.pth", p.done(), {"0": bytes(65536)})

    # Stride 0: one stored float repeated into a 40 GB tensor.
    p = P().op(b"}").str("w").tensor("FloatStorage", "0", 1, 0, [100000, 100000], [0, 0]).op(b"s")
    torch_zip("hostile.expand.pth", p.done(), {"0": bytes(4)})

    # Lists nested 5000 deep (the reader stops at 1000).
    deep = b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b"."
    torch_zip("hostile.deep.pth", deep, {})

    print("wrote", ", ".join(sorted(n for n in os.listdir(DIR) if not n.startswith(("tiny.expected", "smt_")))))


if __name__ == "__main__":
    sys.exit(main())
