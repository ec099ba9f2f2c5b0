#!/usr/bin/python3
"""Write golden reference outputs of seeded, randomly initialised ResNets
for the Go engine's tests.

    /usr/bin/python3 tools/golden/make_goldens.py OUTDIR
        torchvision resnet18, resnet50 (v1.5) and resnet50-v1, 1000 classes,
        224x224 input: NAME.safetensors, NAME.pth, NAME.input.f32,
        NAME.logits.f32, NAME.json, and the class activation maps of that
        input: NAME.layer4.f32, NAME.cam.f32, NAME.cam-up.f32 (about 430 MB
        in all).

    /usr/bin/python3 tools/golden/make_goldens.py --small engine/testdata
        the committed fixtures: the same three networks at base width 8,
        10 classes, 32x32 input (resnet18-w8, resnet50-w8, resnet50-w8-v1),
        without .pth; their class activation maps are of a second input,
        NAME.cam-input.f32, 80x48 (a 3x2 map).

Both also write NAME.int8.safetensors, the network with int8 conv and fc
weights, and NAME.int8.logits.f32, the logits of that network.

Everything is seeded, so reruns give the same tensors (on the same
PyTorch build). The logits are computed in float64 (model.double() on
input.double()) and stored as float32, so they are closer to the exact
answer than any float32 engine. See tools/golden/README.md.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pyutil import safetensors_io  # noqa: E402

SEED = 20240601

# Multiplier applied to the (already random) weight of the last BatchNorm of
# every residual block, like zero-init-residual in spirit: it keeps the
# residual stream from growing through 8 or 16 blocks while leaving every
# branch numerically significant.
RESIDUAL_BN_SCALE = 0.3

# Height and width of the small networks' CAM input: 32x32 leaves layer4 a
# single position, 80x48 a 3x2 map, not square so that a transposed map
# cannot pass.
SMALL_CAM_INPUT = (80, 48)


# --- A minimal copy of torchvision's ResNet with a configurable base width.
# Module and tensor names are exactly torchvision's.

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)  # v1.5: stride on the 3x3
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision.models.resnet.ResNet with every width scaled: the stem and
    layer1 have `width` channels, layer2..4 have 2x, 4x, 8x (times the block
    expansion)."""

    def __init__(self, block, layers, num_classes, width=64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def to_v1(model):
    """Move the stride of every strided Bottleneck from the 3x3 conv to the
    first 1x1 conv (the original paper's layout)."""
    for layer in (model.layer2, model.layer3, model.layer4):
        b = layer[0]
        assert b.conv2.stride == (2, 2), "not a v1.5 bottleneck"
        b.conv1.stride = (2, 2)
        b.conv2.stride = (1, 1)
    return model


def randomize_bn(model, gen):
    """Give every BatchNorm random affine parameters and running statistics,
    so that folding BN into convolutions is actually exercised."""
    last = set()
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for b in layer:
            last.add(id(b.bn3 if hasattr(b, "bn3") else b.bn2))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=gen))
                m.bias.copy_(0.2 * torch.randn(n, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=gen))
                m.num_batches_tracked.fill_(100)
                if id(m) in last:
                    m.weight.mul_(RESIDUAL_BN_SCALE)


# name -> (builder, arch, variant)
def full_models():
    return [
        ("resnet18", lambda: torchvision.models.resnet18(), "resnet18", "v1.5"),
        ("resnet50", lambda: torchvision.models.resnet50(), "resnet50", "v1.5"),
        ("resnet50-v1", lambda: to_v1(torchvision.models.resnet50()), "resnet50", "v1"),
    ]


def small_models(width):
    return [
        (f"resnet18-w{width}", lambda: ResNet(BasicBlock, [2, 2, 2, 2], 10, width), "resnet18", "v1.5"),
        (f"resnet50-w{width}", lambda: ResNet(Bottleneck, [3, 4, 6, 3], 10, width), "resnet50", "v1.5"),
        (f"resnet50-w{width}-v1", lambda: to_v1(ResNet(Bottleneck, [3, 4, 6, 3], 10, width)), "resnet50", "v1"),
    ]


def check_copy_matches_torchvision():
    """The local ResNet at width 64 must have torchvision's exact tensors."""
    for ours, theirs in ((ResNet(BasicBlock, [2, 2, 2, 2], 1000), torchvision.models.resnet18()),
                         (ResNet(Bottleneck, [3, 4, 6, 3], 1000), torchvision.models.resnet50())):
        a = [(k, tuple(v.shape)) for k, v in ours.state_dict().items()]
        b = [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        if a != b:
            raise SystemExit("local ResNet copy does not match torchvision's state_dict")


def write_f32(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes())


def write_cams(outdir, name, model, x):
    """Class activation maps (Zhou et al. 2016) of input x, in float64: the
    output of layer4 taken by a forward hook (after the last block's ReLU,
    before the average pool), and every class's map
    M_k = sum_c fc.weight[k, c] * layer4[c] (no bias). Writes
    NAME.layer4.f32 [C][H][W], NAME.cam.f32 [classes][H][W] and
    NAME.cam-up.f32: the top class's map scaled to [0, 1] by its minimum
    and maximum and resized to the input's size by F.interpolate (bilinear,
    align_corners=False), [in_H][in_W]. Returns the JSON description."""
    taken = []
    hook = model.layer4.register_forward_hook(lambda module, inputs, output: taken.append(output))
    with torch.no_grad():
        logits = model.double()(x.double())[0]
    hook.remove()
    model.float()
    features = taken[0][0]  # [C][H][W]
    weight = model.fc.weight.detach().double()
    cams = torch.einsum("kc,chw->khw", weight, features)
    # The maps are the logits, position by position: their mean plus the
    # bias is the logit (this checks that the hook took the right tensor).
    through = cams.mean(dim=(1, 2)) + model.fc.bias.detach().double()
    if (through - logits).abs().max() > 1e-9 * logits.abs().max():
        raise SystemExit(f"{name}: the CAMs' means do not give the logits")
    top = int(logits.argmax())
    m = cams[top]
    m = (m - m.min()) / (m.max() - m.min())
    up = torch.nn.functional.interpolate(m[None, None], size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)[0, 0]
    write_f32(os.path.join(outdir, f"{name}.layer4.f32"), features)
    write_f32(os.path.join(outdir, f"{name}.cam.f32"), cams)
    write_f32(os.path.join(outdir, f"{name}.cam-up.f32"), up)
    return {"input": list(x.shape[2:]), "map": list(features.shape[1:]), "channels": features.shape[0], "top": top}


def write_int8(outdir, name, model, tensors, x, ref):
    """The int8 file of the network and the logits of the network it holds:
    NAME.int8.safetensors (conv and fc weights quantised per output channel,
    see tools/pyutil/safetensors_io.py) and NAME.int8.logits.f32, computed in
    float64 on its weights dequantised in float32 as the Go reader does.
    Returns the JSON description, with how far those logits are from the
    float network's."""
    path = os.path.join(outdir, f"{name}.int8.safetensors")
    safetensors_io.save(tensors, path, dtype="I8")
    dequantised, _ = safetensors_io.load(path)
    m = copy.deepcopy(model)
    m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in dequantised.items()}, strict=False)
    with torch.no_grad():
        logits = m.double()(x.double()).float()[0]
    write_f32(os.path.join(outdir, f"{name}.int8.logits.f32"), logits)
    return {"argmax": int(logits.argmax().item()),
            "max_abs_diff": float(f"{(logits - ref).abs().max().item():.3g}"),
            "float_max_abs_logit": float(f"{ref.abs().max().item():.3g}")}


def make(outdir, name, build, arch, variant, classes, size, index, extra_json, write_pth, cam_size=None):
    t0 = time.time()
    torch.manual_seed(SEED + index)
    gen = torch.Generator().manual_seed(SEED + 1000 + index)
    model = build()
    randomize_bn(model, gen)
    model.eval()
    x = torch.randn(1, 3, size, size, generator=gen)

    with torch.no_grad():
        ref = model.double()(x.double()).float()[0]
        model.float()
        got32 = model(x)[0]
    std = ref.std().item()
    if not (0.1 <= std <= 100) or not torch.isfinite(ref).all():
        raise SystemExit(f"{name}: logits std {std:.4g} outside [0.1, 100]; adjust the initialisation")
    f32_diff = (got32 - ref).abs().max().item()

    sd = model.state_dict()
    tensors = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    safetensors_io.save(tensors, os.path.join(outdir, f"{name}.safetensors"), dtype="F32")
    if write_pth:
        torch.save(sd, os.path.join(outdir, f"{name}.pth"))
    write_f32(os.path.join(outdir, f"{name}.input.f32"), x)
    write_f32(os.path.join(outdir, f"{name}.logits.f32"), ref)
    # The CAM input comes last from gen, so the files above do not change.
    cam_x, cam_file = x, f"{name}.input.f32"
    if cam_size is not None:
        cam_x, cam_file = torch.randn(1, 3, *cam_size, generator=gen), f"{name}.cam-input.f32"
        write_f32(os.path.join(outdir, cam_file), cam_x)
    cam = {"input_file": cam_file, **write_cams(outdir, name, model, cam_x)}
    meta = {"arch": arch, "variant": variant, "classes": classes, "input": size}
    meta.update(extra_json)
    meta.update({
        "seed": SEED + index,
        "logits_std": round(std, 6),
        "argmax": int(ref.argmax().item()),
        "torch_float32_max_abs_diff": float(f"{f32_diff:.3g}"),
        "cam": cam,
    })
    meta["int8"] = write_int8(outdir, name, model, tensors, x, ref)
    with open(os.path.join(outdir, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"{name}: logits std {std:.3f} argmax {meta['argmax']}, torch float32 vs float64 max |diff| "
          f"{f32_diff:.2e} ({time.time() - t0:.1f}s)", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--small", action="store_true", help="write the small committed fixtures instead")
    p.add_argument("--width", type=int, default=8, help="base width of the --small networks")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.outdir, exist_ok=True)
    t0 = time.time()
    if a.small:
        check_copy_matches_torchvision()
        for i, (name, build, arch, variant) in enumerate(small_models(a.width)):
            make(a.outdir, name, build, arch, variant, 10, 32, 100 + i, {"width": a.width}, write_pth=False,
                 cam_size=SMALL_CAM_INPUT)
    else:
        for i, (name, build, arch, variant) in enumerate(full_models()):
            make(a.outdir, name, build, arch, variant, 1000, 224, i, {}, write_pth=True)
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
