"""Writes the checkpoint files the browser tests drop on the page, made by
Debian's PyTorch as a person's own would be, and PyTorch's logits for them
on a real photograph.

usage: /usr/bin/python3 e2e/make_checkpoints.py OUT_DIR PHOTO

Good files: a seeded ResNet-18 (1000 classes) saved with
torch.save(state_dict()); another seeded ResNet-18 as bfloat16 safetensors;
a ResNet-50 as float32 safetensors; a 10-class ResNet-18 saved as a
training checkpoint ({'epoch', 'state_dict' with DataParallel's 'module.'
prefix, 'best_acc1'}) with a labels file. Bad files: a zip that is not a
checkpoint, a VGG-like network, a truncated and a corrupted (CRC) file, NaN
weights, a pickle that calls os.system, a labels file of the wrong length.
"""
import json
import os
import struct
import sys
import zipfile

import torch
import torchvision
from PIL import Image
from torchvision import transforms


def seeded(arch, seed, classes=1000):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(num_classes=classes)
    # Non-trivial BatchNorm statistics, so that folding them matters.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.2)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def write_safetensors(path, state, dtype):
    """A safetensors file (the format is a length, a JSON header and raw data)."""
    names = [k for k in state if not k.endswith("num_batches_tracked")]
    tag = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}[dtype]
    header, blobs, off = {}, [], 0
    for k in names:
        raw = state[k].to(dtype).contiguous().view(torch.uint8 if dtype == torch.float32 else torch.int16)
        data = raw.numpy().tobytes()
        header[k] = {"dtype": tag, "shape": list(state[k].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def logits(model, photo, resize):
    prep = transforms.Compose([
        transforms.Resize(resize), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    x = prep(Image.open(photo).convert("RGB")).unsqueeze(0).double()
    with torch.no_grad():
        return model.double()(x)[0].tolist()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def main(out, photo):
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)
    ref = {}

    r18 = seeded("resnet18", 1)
    torch.save(r18.state_dict(), p("seeded-resnet18.pth"))
    ref["seeded-resnet18@256"] = logits(r18, photo, 256)
    ref["seeded-resnet18@232"] = logits(r18, photo, 232)

    write_safetensors(p("other-resnet18.safetensors"), seeded("resnet18", 2).state_dict(), torch.bfloat16)

    r50 = seeded("resnet50", 3)
    write_safetensors(p("seeded-resnet50.safetensors"), r50.state_dict(), torch.float32)
    ref["seeded-resnet50@256"] = logits(r50, photo, 256)

    r10 = seeded("resnet18", 4, classes=10)
    state = {"module." + k: v for k, v in r10.state_dict().items()}
    torch.save({"epoch": 12, "arch": "resnet18", "state_dict": state, "best_acc1": torch.tensor(91.5)}, p("ten-classes.pth"))
    names = ["tabby", "tiger", "lynx", "fox", "wolf", "bear", "otter", "badger", "stoat", "heron"]
    with open(p("ten-classes.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    with open(p("nine-classes.txt"), "w") as f:
        f.write("\n".join(names[:9]) + "\n")
    ref["ten-classes@256"] = logits(r10, photo, 256)

    # Bad files.
    with zipfile.ZipFile(p("not-a-checkpoint.zip"), "w") as z:
        z.writestr("notes/readme.txt", "just a zip")
    vgg = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3))
    torch.save({"features." + k: v for k, v in vgg.state_dict().items()}, p("vgg-like.pth"))
    data = open(p("ten-classes.pth"), "rb").read()
    open(p("truncated.pth"), "wb").write(data[: len(data) * 6 // 10])
    corrupt = bytearray(data)
    corrupt[len(data) // 2] ^= 0xFF  # inside a stored tensor record
    open(p("corrupt.pth"), "wb").write(corrupt)
    nan = seeded("resnet18", 5, classes=10).state_dict()
    nan["conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(nan, p("nan.pth"))
    torch.save({"conv1.weight": torch.zeros(1), "payload": Evil()}, p("evil.pth"))

    with open(p("reference.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
