#!/usr/bin/python3
"""PyTorch reference for the Go accuracy test: classify the 10,000
Fashion-MNIST test images with a model from weights/manifest.json.

    /usr/bin/python3 tools/train/eval_reference.py --model fashion-resnet18 OUT

writes
    OUT          raw uint8 [10000]: the predicted class of each test image,
                 in the order of t10k-images-idx3-ubyte
    OUT.json     {"model", "accuracy", "correct", "images", "sha256", ...}
and, with --logits PATH, raw little-endian float32 [10000, classes] logits.

The weights are the safetensors file named by the manifest (its sha256 is
checked), or with --file another file of the same model (an int8
conversion, say), widened or dequantised to float32; inference runs in
float32. Preprocessing is exactly the Go side's, driven by the manifest: PIL
Image from the 28x28 uint8 array, Resize(resize) bilinear, CenterCrop(crop),
ToTensor, gray repeated to 3 channels, Normalize(mean, std).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from pyutil import fashion, idx, manifest, safetensors_io  # noqa: E402

DEFAULT_WEIGHTS = os.path.normpath(os.path.join(HERE, "..", "..", "weights"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output path for the uint8 predictions (OUT.json gets the summary)")
    p.add_argument("--model", default="fashion-resnet18", help="manifest name")
    p.add_argument("--weights", default=DEFAULT_WEIGHTS, help="directory holding manifest.json and the weights")
    p.add_argument("--logits", help="also write float32 logits [N, classes] here")
    p.add_argument("--file", help="evaluate this weights file instead of the manifest's (not checked against its sha256)")
    p.add_argument("--data", default=idx.FASHION_DIR, help="Fashion-MNIST idx directory")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=500)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()

    e = manifest.find(os.path.join(a.weights, "manifest.json"), a.model)
    path = a.file or os.path.join(a.weights, e["file"])
    digest = manifest.sha256_file(path)
    if not a.file and digest != e["sha256"]:
        raise SystemExit(f"{path}: sha256 {digest} does not match the manifest's {e['sha256']}")
    if e["arch"] not in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        raise SystemExit(f"unsupported arch {e['arch']}")
    model = getattr(torchvision.models, e["arch"])(num_classes=e["classes"])
    if e.get("variant", "v1.5") == "v1":
        for layer in (model.layer2, model.layer3, model.layer4):
            layer[0].conv1.stride, layer[0].conv2.stride = (2, 2), (1, 1)
    safetensors_io.load_into(model, path)
    model.eval()

    images, labels = idx.load_fashion("test", a.data)
    x = fashion.to_unit_tensor(images, e["resize"], e["crop"])
    y = torch.from_numpy(labels.astype(np.int64))
    preds, logits = [], []
    with torch.no_grad():
        for i in range(0, len(x), a.batch):
            xb = fashion.normalize3(x[i:i + a.batch], e["mean"], e["std"]).contiguous()
            out = model(xb)
            logits.append(out)
            preds.append(out.argmax(1))
    pred = torch.cat(preds)
    correct = int((pred == y).sum().item())
    acc = correct / len(y)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    pred.numpy().astype(np.uint8).tofile(a.out)
    if a.logits:
        torch.cat(logits).numpy().astype("<f4").tofile(a.logits)
    summary = {
        "model": e["name"],
        "file": os.path.basename(path),
        "sha256": digest,
        "images": len(y),
        "correct": correct,
        "accuracy": acc,
        "manifest_accuracy": e.get("accuracy"),
        "preprocessing": {"resize": e["resize"], "crop": e["crop"], "mean": e["mean"], "std": e["std"]},
    }
    with open(a.out + ".json", "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(f"{e['name']}: accuracy {acc:.4f} ({correct}/{len(y)}), manifest says {e.get('accuracy')}; "
          f"wrote {a.out} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
