"""Minimal safetensors reader/writer (the Python `safetensors` package is not
available here).

File layout: 8-byte little-endian header length N, then N bytes of JSON
header {name: {"dtype": "F32"|"F16", "shape": [...], "data_offsets": [b, e]}},
optionally "__metadata__": {str: str}, padded with spaces to a multiple of 8,
then the raw little-endian tensor data. Offsets are relative to the end of
the header. Tensors are written in the order given (state_dict order).
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8")}


def _to_numpy(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(t)


def save(tensors, path, dtype="F32", metadata=None):
    """Write tensors (an ordered mapping name -> torch.Tensor or ndarray)
    to path, converting every tensor to dtype ("F32" or "F16")."""
    if dtype not in ("F32", "F16"):
        raise ValueError("dtype must be F32 or F16")
    np_dtype = _DTYPES[dtype]
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = _to_numpy(t)
        if a.dtype.kind != "f":
            raise ValueError(f"{name}: not a floating tensor ({a.dtype})")
        a = a.astype(np_dtype)
        b = a.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Read a safetensors file into an ordered dict name -> float32 ndarray
    (in file data order) and return (tensors, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        a = np.frombuffer(body[b:e], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = a.astype(np.float32)
    return out, meta
