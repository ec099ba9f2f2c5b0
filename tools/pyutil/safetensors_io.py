"""Minimal safetensors reader/writer (the Python `safetensors` package is not
available here).

File layout: 8-byte little-endian header length N, then N bytes of JSON
header {name: {"dtype": "F32"|"F16"|"I8", "shape": [...], "data_offsets": [b, e]}},
optionally "__metadata__": {str: str}, padded with spaces to a multiple of 8,
then the raw little-endian tensor data. Offsets are relative to the end of
the header. Tensors are written in the order given (state_dict order).

int8 (dtype "I8"), as engine/checkpoint reads and writes it: every tensor of
two or more dimensions (conv and fc weights) is stored as int8 q with its
scales NAME_scale (F32, shape [NAME.shape[0]]), one per output channel; the
value is q * scale[out]. All the scales come first, in the order given, then
the tensors, so that the browser, which builds a model while its file
downloads, has every scale from the file's first kilobytes. Quantisation is symmetric:
scale = max|w| / 127 in float32 (1 for a channel of zeros), q = w / scale in
float32 rounded half to even, so this writer and the Go one give the same
bytes. Other tensors (BatchNorm, biases) are stored as F32.
"""
import json
import struct

import numpy as np

_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"), "I8": np.dtype("i1")}

SCALE_SUFFIX = "_scale"


def _to_numpy(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(t)


def quantize_int8(w):
    """Symmetric int8 per output channel (first dimension) of a float32
    array: returns (q int8 array of w's shape, float32 scales [w.shape[0]])."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    flat = w.reshape(w.shape[0], int(np.prod(w.shape[1:])))
    scale = (np.abs(flat).max(axis=1, initial=np.float32(0)) / np.float32(127)).astype(np.float32)
    scale[scale == 0] = np.float32(1)
    q = np.clip(np.rint(flat / scale[:, None]), -127, 127).astype(np.int8)
    return q.reshape(w.shape), scale


def dequantize_int8(q, scale):
    """q * scale[out] in float32, as the Go reader computes it."""
    flat = q.reshape(q.shape[0], int(np.prod(q.shape[1:]))).astype(np.float32) * scale[:, None]
    return flat.reshape(q.shape)


def save(tensors, path, dtype="F32", metadata=None):
    """Write tensors (an ordered mapping name -> torch.Tensor or ndarray)
    to path, converting every tensor to dtype ("F32" or "F16"), or with
    dtype "I8" quantising those of two or more dimensions (see above)."""
    if dtype not in ("F32", "F16", "I8"):
        raise ValueError("dtype must be F32, F16 or I8")
    header = {}
    blobs = []
    offset = 0

    def add(name, dt, a):
        nonlocal offset
        b = a.astype(_DTYPES[dt]).tobytes(order="C")
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)

    stored = []  # (name, dtype, array) in the given order
    scales = []  # (name, array): written first
    for name, t in tensors.items():
        a = _to_numpy(t)
        if a.dtype.kind != "f":
            raise ValueError(f"{name}: not a floating tensor ({a.dtype})")
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: NaN or Inf")
        if dtype == "I8" and a.ndim >= 2:
            if name + SCALE_SUFFIX in tensors:
                raise ValueError(f"{name}{SCALE_SUFFIX} is taken: it would name {name}'s int8 scales")
            q, scale = quantize_int8(a)
            stored.append((name, "I8", q))
            scales.append((name + SCALE_SUFFIX, scale))
        else:
            stored.append((name, "F32" if dtype == "I8" else dtype, a))
    for name, scale in scales:
        add(name, "F32", scale)
    for name, dt, a in stored:
        add(name, dt, a)
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
    (in file data order; I8 tensors dequantised with their NAME_scale, which
    is not listed) and return (tensors, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    raw = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        raw[name] = np.frombuffer(body[b:e], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
    out = {}
    for name, a in raw.items():
        base = name[:-len(SCALE_SUFFIX)] if name.endswith(SCALE_SUFFIX) else None
        if base is not None and base in raw:
            if header[base]["dtype"] != "I8":
                raise ValueError(f"{name}: scales for {base}, which is not I8")
            continue
        if header[name]["dtype"] == "I8":
            s = raw.get(name + SCALE_SUFFIX)
            if s is None or header[name + SCALE_SUFFIX]["dtype"] != "F32" or s.shape != (a.shape[0],):
                raise ValueError(f"{name}: I8 without F32 scales of shape [{a.shape[0]}]")
            if not (np.isfinite(s).all() and (s > 0).all()):
                raise ValueError(f"{name}{SCALE_SUFFIX}: scales must be finite and positive")
            out[name] = dequantize_int8(a, s)
        else:
            out[name] = a.astype(np.float32)
    return out, meta


def load_into(model, path):
    """Load the safetensors checkpoint at path into a torchvision model
    strictly (every tensor but num_batches_tracked must be present, shapes
    must match)."""
    import torch  # here, so that reading and writing files needs numpy only

    tensors, _ = load(path)
    sd = model.state_dict()
    want = [k for k in sd if not k.endswith("num_batches_tracked")]
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in sd]
    if missing or extra:
        raise ValueError(f"checkpoint mismatch: missing {missing[:5]} extra {extra[:5]}")
    for k in want:
        if tuple(tensors[k].shape) != tuple(sd[k].shape):
            raise ValueError(f"{k}: shape {tensors[k].shape} != {tuple(sd[k].shape)}")
        sd[k] = torch.from_numpy(np.array(tensors[k], dtype=np.float32))
    model.load_state_dict(sd)
    return model
