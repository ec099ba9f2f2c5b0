"""Writes the ImageNet-size model of the heatmap browser tests
(e2e/cam.test.mjs), made by Debian's PyTorch, and PyTorch's class
activation maps for the test pictures.

usage: /usr/bin/python3 e2e/make_cam_model.py OUT_DIR PHOTO

OUT_DIR/seeded-resnet18.safetensors: a seeded torchvision ResNet-18 (1000
classes, random BatchNorm statistics) as F32 safetensors.
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
from pyutil import safetensors_io  # noqa: E402


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


def main(out, photo):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    model = seeded(19)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    safetensors_io.save(state, os.path.join(out, "seeded-resnet18.safetensors"))
    model = model.double()
    image = Image.open(photo)
    portrait = image.crop((100, 0, 300, 300))
    portrait.save(os.path.join(out, "portrait.png"))
    ref = {os.path.basename(photo): cams(model, image), "portrait.png": cams(model, portrait)}
    with open(os.path.join(out, "cams.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
