#!/usr/bin/python3
"""Publish an int8 conversion of a bundled model in place of its float file,
if it is as good as the issue asks: top-1 accuracy within 0.3 points of the
float file's and the same top-1 class on at least 99% of the test images.

    go run ./cmd/resnet convert weights/fashion-resnet18.safetensors /tmp/r18.safetensors -dtype int8
    GOEXPERIMENT=simd go run ./cmd/fashion-eval -model fashion-resnet18 \\
        -weights /tmp/r18.safetensors -against weights/fashion-resnet18.safetensors -json > /tmp/r18.json
    /usr/bin/python3 tools/train/publish_int8.py /tmp/r18.json

RESULT.json is cmd/fashion-eval's -json output. The int8 file is copied over
the manifest's file (same name) and the entry becomes dtype I8 with the new
bytes and sha256, the int8 accuracy, and a "quantized" record of the float
file (dtype, bytes, sha256, accuracy) and the agreement. The float file's
sha256 must be the manifest's, so a result measured against other weights is
refused. Nothing is written when the bar is missed; the numbers are printed.
"""
import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from pyutil import manifest  # noqa: E402

DEFAULT_WEIGHTS = os.path.normpath(os.path.join(HERE, "..", "..", "weights"))
MAX_ACCURACY_DROP = 0.003  # 0.3 points
MIN_AGREEMENT = 0.99


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("result", help="cmd/fashion-eval -json output (-weights the int8 file, -against the float one)")
    p.add_argument("--weights", default=DEFAULT_WEIGHTS, help="directory holding manifest.json and the weights")
    a = p.parse_args()
    with open(a.result) as f:
        r = json.load(f)
    q, f = r["weights"], r.get("against")
    if f is None or q["dtype"] != "I8" or f["dtype"] not in ("F16", "F32"):
        raise SystemExit("the result must compare an I8 file (-weights) with an F16 or F32 one (-against)")
    mpath = os.path.join(a.weights, "manifest.json")
    e = manifest.find(mpath, r["model"])
    if f["sha256"] != e["sha256"] or manifest.sha256_file(q["path"]) != q["sha256"]:
        raise SystemExit("the result is not of the manifest's float file and this int8 file: measure again")
    drop = f["accuracy"] - q["accuracy"]
    print(f"{r['model']} on {r['images']} images: int8 {q['accuracy']:.4f}, {f['dtype']} {f['accuracy']:.4f} "
          f"({-100 * drop:+.2f} points), same top-1 on {r['agreement']:.4f}; {q['bytes']} bytes instead of {f['bytes']}")
    if drop > MAX_ACCURACY_DROP or r["agreement"] < MIN_AGREEMENT:
        raise SystemExit(f"not published: the bar is {100 * MAX_ACCURACY_DROP:.1f} points and {100 * MIN_AGREEMENT:.0f}% agreement")

    entry = dict(e)
    entry.update({
        "dtype": "I8",
        "bytes": q["bytes"],
        "sha256": q["sha256"],
        "accuracy": round(q["accuracy"], 4),
        "eval_images": r["images"],
    })
    # "quantized" goes after "training", where the Go writer puts it.
    rest = {k: entry.pop(k) for k in ("source", "default") if k in entry}
    entry["quantized"] = {
        "from_dtype": f["dtype"],
        "from_bytes": f["bytes"],
        "from_sha256": f["sha256"],
        "from_accuracy": round(f["accuracy"], 4),
        "agreement": round(r["agreement"], 4),
    }
    rest["source"] = (rest["source"].rstrip() + " Stored as int8 (conv and fc weights, a scale per output channel) by "
                      f"`resnet convert -dtype int8` from the {f['dtype']} file that \"quantized\" describes.")
    entry.update(rest)
    shutil.copyfile(q["path"], os.path.join(a.weights, e["file"]))
    manifest.upsert(mpath, entry)
    print(f"published {os.path.join(a.weights, e['file'])} and its entry in {mpath}")


if __name__ == "__main__":
    main()
