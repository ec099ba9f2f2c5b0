"""Read and update weights/manifest.json (the file the Go package
github.com/inbrowser/resnet/weights embeds)."""
import hashlib
import json
import os

import numpy as np
import torch

from . import safetensors_io


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read(path):
    if not os.path.exists(path):
        return {"version": 1, "models": []}
    with open(path) as f:
        return json.load(f)


def upsert(path, entry):
    """Replace the entry with entry["name"] (or append it), keeping the
    others, and write the manifest back atomically."""
    m = read(path)
    models = [e for e in m.get("models", []) if e.get("name") != entry["name"]]
    models.append(entry)
    models.sort(key=lambda e: e["name"])
    if entry.get("default"):
        for e in models:
            if e["name"] != entry["name"]:
                e.pop("default", None)
    m["version"] = 1
    m["models"] = models
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def find(path, name):
    m = read(path)
    for e in m.get("models", []):
        if e["name"] == name:
            return e
    known = ", ".join(e["name"] for e in m.get("models", []))
    raise SystemExit(f"model {name!r} not in {path} (known: {known})")


def load_into(model, safetensors_path):
    """Load a safetensors checkpoint into a torchvision model strictly (every
    tensor but num_batches_tracked must be present, shapes must match)."""
    tensors, _ = safetensors_io.load(safetensors_path)
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
