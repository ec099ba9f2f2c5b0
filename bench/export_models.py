#!/usr/bin/python3
"""Exports seeded, randomly initialised torchvision ResNets for the browser
benchmark (bench/run.mjs): for each network the SAME weights as
  bench/models/<net>.onnx         ONNX (opset 13, input "input" NCHW [1,3,224,224], output "logits")
  bench/models/<net>.safetensors  the state_dict (F32) for engine/checkpoint.Read

Usage: /usr/bin/python3 bench/export_models.py [--out DIR] [resnet18 resnet50 ...]
"""
import argparse
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from pyutil import safetensors_io  # noqa: E402


def build(name, seed=0):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)()
    # torchvision's BatchNorms start as the identity; random statistics make
    # the logit check in the page also cover BatchNorm folding (ours folds
    # into the convs, the ONNX export folds its own way).
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


def export(name, out):
    model = build(name)
    x = torch.randn(1, 3, 224, 224)
    onnx_path = os.path.join(out, name + ".onnx")
    st_path = os.path.join(out, name + ".safetensors")
    # Written under temporary names and renamed: the driver exports only
    # missing files, so an interrupted export must not leave a partial one.
    torch.onnx.export(model, x, onnx_path + ".tmp", opset_version=13, input_names=["input"], output_names=["logits"])
    # num_batches_tracked is an int64 step counter inference never reads.
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith(".num_batches_tracked")}
    safetensors_io.save(sd, st_path + ".tmp", metadata={"arch": name, "seed": "0"})
    os.replace(onnx_path + ".tmp", onnx_path)
    os.replace(st_path + ".tmp", st_path)
    print(f"{name}: wrote {onnx_path} and {st_path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    ap.add_argument("nets", nargs="*", default=["resnet18", "resnet50"])
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for name in args.nets:
        export(name, args.out)


if __name__ == "__main__":
    main()
