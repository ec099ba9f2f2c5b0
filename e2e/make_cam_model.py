"""Writes the ImageNet-size model of the heatmap browser tests
(e2e/cam.test.mjs), made by Debian's PyTorch, and PyTorch's class
activation maps for the test pictures.

usage: /usr/bin/python3 e2e/make_cam_model.py OUT_DIR PHOTO WEIGHTS_DIR

WEIGHTS_DIR/seeded-resnet18.safetensors and seeded-resnet18-112.safetensors:
a seeded torchvision ResNet-18 (1000 classes, random BatchNorm statistics)
as F32 safetensors, each with its entry in WEIGHTS_DIR/manifest.json,
written by tools/pyutil/manifest.py (the page reads them as the build
publishes them): at ImageNet's 256/224 and at 128/112.
OUT_DIR/portrait.png: a 200x300 cut of PHOTO, so that a portrait picture's
crop is tested too.
OUT_DIR/cams.json: for PHOTO's and the portrait's file names, the top-5
classes and each one's map at 224x224 (7x7, row-major): layer4's output
(taken with a forward hook, in float64) times the class's fc weights.
"""
import json
import os
import sys

import torch
import torchvision
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from pyutil import manifest, safetensors_io  # noqa: E402


def seeded(seed):
    torch.manual_seed(seed)
    model = torchvision.models.resnet18()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.2)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def cams(model, image):
    prep = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    x = prep(image.convert("RGB")).unsqueeze(0).double()
    features = {}
    hook = model.layer4.register_forward_hook(lambda _m, _i, out: features.setdefault("layer4", out))
    with torch.no_grad():
        logits = model(x)[0]
    hook.remove()
    f = features["layer4"][0]  # C x H x W
    top = torch.topk(logits, 5).indices.tolist()
    maps = [torch.einsum("c,chw->hw", model.fc.weight[k], f).flatten().tolist() for k in top]
    return {"top": top, "cams": maps, "size": list(f.shape[1:])}


def main(out, photo, weights):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    model = seeded(19)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    for name, resize, crop in (("seeded-resnet18", 256, 224), ("seeded-resnet18-112", 128, 112)):
        path = os.path.join(weights, name + ".safetensors")
        safetensors_io.save(state, path)
        manifest.upsert(os.path.join(weights, "manifest.json"), manifest.entry(
            path, name=name, arch="resnet18", classes=1000, size=crop, resize=resize,
            mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], labels="imagenet-classes.txt",
            dtype="F32", accuracy=0,
            source="e2e/make_cam_model.py: a seeded torchvision ResNet-18 with random weights, for testing heatmaps"))
    model = model.double()
    image = Image.open(photo)
    portrait = image.crop((100, 0, 300, 300))
    portrait.save(os.path.join(out, "portrait.png"))
    ref = {os.path.basename(photo): cams(model, image), "portrait.png": cams(model, portrait)}
    with open(os.path.join(out, "cams.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
