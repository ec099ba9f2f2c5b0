#!/usr/bin/python3
"""Regenerates the checkpoint test fixtures with Debian's PyTorch (1.13).

Run from this directory: /usr/bin/python3 make_fixtures.py

tiny.pth and tiny.safetensors hold the same tensors, so the Go tests can check
that both readers agree. The safetensors writer is the few lines below because
the Python safetensors package is not installed; it follows the format spec
(8-byte little-endian header length, JSON header padded with spaces to a
multiple of 8, tensors packed in header order with no gaps).
"""
import json
import struct
from collections import OrderedDict

import torch
from torch import nn

torch.manual_seed(0)


def tiny_state_dict():
    # A real module's state_dict: OrderedDict with _metadata, conv and
    # BatchNorm tensors and the int64 num_batches_tracked.
    m = nn.Sequential(nn.Conv2d(1, 2, 2, bias=False), nn.BatchNorm2d(2))
    with torch.no_grad():
        m[1].weight.copy_(torch.randn(2))
        m[1].bias.copy_(torch.randn(2))
        m[1].running_mean.copy_(torch.randn(2))
        m[1].running_var.copy_(torch.rand(2) + 0.5)
        m[1].num_batches_tracked.fill_(7)
    sd = m.state_dict()
    sd["half.weight"] = torch.randn(3, 2).half()
    sd["bf16.weight"] = torch.randn(4).bfloat16()
    # Views sharing one storage, two of them at a storage offset.
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5
    sd["view.base"] = base
    sd["view.row"] = base[1]
    sd["view.tail"] = base[2:]
    hbase = torch.randn(6).half()
    sd["half.view"] = hbase[2:5]
    sd["scalar"] = torch.tensor(1.5)
    sd["empty"] = torch.zeros(0, 3)
    special = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, 3.0e38, -1.5]
    sd["special.f32"] = torch.tensor(special, dtype=torch.float32)
    special16 = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 6e-8, 65504.0, -1.5]
    sd["special.f16"] = torch.tensor(special16, dtype=torch.float16)
    return sd


DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
}


def save_safetensors(path, tensors):
    header = OrderedDict()
    header["__metadata__"] = {"format": "pt"}
    blobs = []
    off = 0
    for name, t in tensors.items():
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {
            "dtype": DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [off, off + len(raw)],
        }
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


sd = tiny_state_dict()
torch.save(sd, "tiny.pth")
save_safetensors("tiny.safetensors", sd)

# A transposed view: not contiguous, which the reader must reject.
t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
torch.save(OrderedDict([("t", t.t())]), "noncontig.pth")

# A plain dict of Parameters (saved via _rebuild_parameter), not a state_dict.
p = nn.Linear(2, 1)
torch.save(dict(p.named_parameters()), "params.pth")

# float64 is not a supported storage type.
torch.save(OrderedDict([("x", torch.ones(2, dtype=torch.float64))]), "double.pth")

# The pre-1.6 format, which the reader reports as unsupported.
torch.save(OrderedDict([("x", torch.ones(2))]), "legacy.pth", _use_new_zipfile_serialization=False)


# Training checkpoints, as training scripts save them. The model is a small
# real module trained one SGD step with momentum, so the optimizer state
# holds tensors (momentum buffers) in storages of their own, next to plain
# data: numbers, strings, booleans, None, lists and dicts with int keys.
def trained():
    m = nn.Sequential(nn.Conv2d(1, 2, 2, bias=False), nn.BatchNorm2d(2))
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30)
    m(torch.randn(2, 1, 3, 3)).sum().backward()
    opt.step()
    sched.step()
    return m, opt, sched


m, opt, sched = trained()
# The plain state_dict the three files below hold, for comparison.
torch.save(m.state_dict(), "trained.pth")
# PyTorch's ImageNet example (examples/imagenet/main.py): a DataParallel
# model, so every name starts with "module.", and best_acc1 a tensor.
dp = nn.DataParallel(m)
torch.save({
    "epoch": 3,
    "arch": "resnet18",
    "state_dict": dp.state_dict(),
    "best_acc1": torch.tensor(71.25),
    "optimizer": opt.state_dict(),
    "scheduler": sched.state_dict(),
}, "wrapped.pth")
# torchvision's reference scripts (references/classification/train.py),
# without "args", an argparse.Namespace the reader refuses to build.
torch.save({
    "model": m.state_dict(),
    "optimizer": opt.state_dict(),
    "lr_scheduler": sched.state_dict(),
    "epoch": 5,
    "model_ema": None,
}, "model.pth")
# DataParallel's state_dict saved directly.
torch.save(dp.state_dict(), "dataparallel.pth")
