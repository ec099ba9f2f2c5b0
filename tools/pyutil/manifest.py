"""Read and update weights/manifest.json (the file the Go package
github.com/inbrowser/resnet/weights embeds). Its entries are Go's
weights.Model; weights/python_test.go writes one through this module and
parses it in Go. Only the standard library, so that any python3 can."""
import hashlib
import json
import os


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


def entry(path, *, name, arch, classes, size, resize, mean, std, labels, dtype, accuracy, source,
          variant="v1.5", eval_images=None, training=None, default=False):
    """The manifest entry of the weights file at path (its name, size and
    SHA-256 are read from it): a size x size network input, the center
    crop of an image resized to resize. The keys are in the order Go's
    writer puts them (weights.Model), so either rewrites the other's
    manifest unchanged."""
    e = {
        "name": name,
        "arch": arch,
        "variant": variant,
        "classes": classes,
        "input_size": size,
        "resize": resize,
        "crop": size,
        "mean": list(mean),
        "std": list(std),
        "labels": labels,
        "dtype": dtype,
        "file": os.path.basename(path),
        "bytes": os.path.getsize(path),
        "sha256": sha256_file(path),
        "accuracy": accuracy,
    }
    if eval_images is not None:
        e["eval_images"] = eval_images
    if training is not None:
        e["training"] = training
    e["source"] = source
    if default:
        e["default"] = True
    return e


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
