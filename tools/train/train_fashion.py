#!/usr/bin/python3
"""Train an unmodified torchvision ResNet on Fashion-MNIST on the CPU and
publish it as an fp16 safetensors file plus an entry in weights/manifest.json.

    /usr/bin/python3 tools/train/train_fashion.py --arch resnet18 --size 32 \
        --epochs 25 --out weights/

The model is torchvision.models.resnet18/resnet50(num_classes=10) exactly
(7x7/2 stem, 3x3/2 max-pool, v1.5 bottlenecks). Images go through the same
preprocessing the Go/browser side uses (tools/pyutil/fashion.py): PIL
bilinear Resize(size) of the 28x28 image, CenterCrop(size), ToTensor, the
gray channel repeated to 3, Normalize(mean, std). Augmentation (training
only): random crop with zero padding, horizontal flip, random erasing.

The reported accuracy is measured after rounding the weights to fp16, i.e.
with exactly the tensors that are written.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pyutil import fashion, idx, manifest, safetensors_io  # noqa: E402

LABELS_FILE = "fashion-mnist-classes.txt"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["resnet18", "resnet50"], required=True)
    p.add_argument("--size", type=int, choices=[32, 64], default=32)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--out", required=True, help="weights directory (manifest.json lives there)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--pad", type=int, default=3, help="random-crop padding in pixels")
    p.add_argument("--erase", type=float, default=0.25, help="random-erasing probability")
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--zero-init-residual", action="store_true",
                   help="torchvision's zero_init_residual=True (initialisation only; the network is unchanged)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (timing runs; nothing is written)")
    p.add_argument("--default", action="store_true", help="mark this model as the manifest default (implied for resnet18)")
    return p.parse_args()


def augment(xb, size, pad, erase_p, gen):
    """xb: [B,1,S,S] in [0,1]. Random crop from the zero-padded image,
    horizontal flip, random erasing (filled with 0 = background)."""
    B = xb.shape[0]
    if pad > 0:
        xp = F.pad(xb, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
        ox = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
        ar = torch.arange(size)
        rows = (oy[:, None] + ar)[:, :, None]  # B,S,1
        cols = (ox[:, None] + ar)[:, None, :]  # B,1,S
        bi = torch.arange(B)[:, None, None]
        xb = xp[bi, 0, rows, cols].unsqueeze(1)
    flip = torch.rand(B, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    if erase_p > 0:
        xb = xb.clone()
        for i in torch.nonzero(torch.rand(B, generator=gen) < erase_p).flatten().tolist():
            # area 2-25% of the image, aspect ratio 0.3-3.3 (RandomErasing defaults)
            for _ in range(10):
                area = size * size * (0.02 + 0.23 * torch.rand(1, generator=gen).item())
                ratio = math.exp(math.log(0.3) + (math.log(3.3) - math.log(0.3)) * torch.rand(1, generator=gen).item())
                h = int(round(math.sqrt(area * ratio)))
                w = int(round(math.sqrt(area / ratio)))
                if 0 < h < size and 0 < w < size:
                    y = torch.randint(0, size - h + 1, (1,), generator=gen).item()
                    x = torch.randint(0, size - w + 1, (1,), generator=gen).item()
                    xb[i, :, y:y + h, x:x + w] = 0
                    break
    return xb


def evaluate(model, x, y, mean, std, batch=500):
    model.eval()
    correct = 0
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = fashion.normalize3(x[i:i + batch], mean, std).contiguous(memory_format=torch.channels_last)
            p = model(xb).argmax(1)
            preds.append(p)
            correct += (p == y[i:i + batch]).sum().item()
    return correct / len(x), torch.cat(preds)


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    t_start = time.time()

    tr_img, tr_lab = idx.load_fashion("train")
    te_img, te_lab = idx.load_fashion("test")
    xtr = fashion.to_unit_tensor(tr_img, a.size, a.size)
    xte = fashion.to_unit_tensor(te_img, a.size, a.size)
    ytr = torch.from_numpy(tr_lab.astype(np.int64))
    yte = torch.from_numpy(te_lab.astype(np.int64))
    # Normalization statistics of the preprocessed training set, rounded so
    # the manifest states exactly the values used here.
    m = round(xtr.double().mean().item(), 4)
    s = round(xtr.double().std().item(), 4)
    mean, std = [m] * 3, [s] * 3
    print(f"data: train {tuple(xtr.shape)} test {tuple(xte.shape)} mean {m} std {s} "
          f"({time.time() - t_start:.1f}s)", flush=True)

    model = getattr(torchvision.models, a.arch)(num_classes=10, zero_init_residual=a.zero_init_residual)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=a.wd)
    steps_per_epoch = len(xtr) // a.batch  # drop the last partial batch
    total = steps_per_epoch * a.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=total, pct_start=0.25,
                                                div_factor=10, final_div_factor=100)
    print(f"{a.arch} {sum(p.numel() for p in model.parameters())} params, {a.epochs} epochs x "
          f"{steps_per_epoch} steps, batch {a.batch}", flush=True)

    t_train = time.time()
    step = 0
    for epoch in range(a.epochs):
        model.train()
        t_ep = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        loss_sum, seen, correct = 0.0, 0, 0
        for k in range(steps_per_epoch):
            ids = perm[k * a.batch:(k + 1) * a.batch]
            xb = augment(xtr[ids], a.size, a.pad, a.erase, gen)
            xb = fashion.normalize3(xb, mean, std).contiguous(memory_format=torch.channels_last)
            yb = ytr[ids]
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=a.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(ids)
            seen += len(ids)
            correct += (out.argmax(1) == yb).sum().item()
            step += 1
            if step == 5:
                t_warm = time.time()
            if a.max_steps and step >= a.max_steps:
                dt = time.time() - t_warm
                print(f"timing: {step - 5} steps after warm-up in {dt:.1f}s -> "
                      f"{dt / (step - 5) * steps_per_epoch:.0f}s/epoch", flush=True)
                return
        acc, _ = evaluate(model, xte, yte, mean, std)
        print(f"epoch {epoch + 1}/{a.epochs} loss {loss_sum / seen:.4f} train {correct / seen:.4f} "
              f"test {acc:.4f} lr {sched.get_last_lr()[0]:.4f} {time.time() - t_ep:.0f}s", flush=True)
    train_seconds = time.time() - t_train

    # Round to fp16, reload, and measure what will actually be shipped.
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    sd16 = {}
    for k, v in sd.items():
        h = v.detach().to(torch.float16)
        if not torch.isfinite(h).all():
            raise SystemExit(f"{k} does not fit in fp16")
        sd16[k] = h.float()
    acc32, _ = evaluate(model, xte, yte, mean, std)
    model.load_state_dict({**model.state_dict(), **sd16})
    acc16, _ = evaluate(model, xte, yte, mean, std)

    os.makedirs(a.out, exist_ok=True)
    name = f"fashion-{a.arch}"
    fname = f"{name}.safetensors"
    path = os.path.join(a.out, fname)
    safetensors_io.save(sd16, path, dtype="F16", metadata={
        "arch": a.arch, "variant": "v1.5", "classes": "10", "dataset": "fashion-mnist"})
    with open(os.path.join(a.out, LABELS_FILE), "w") as f:
        f.write("\n".join(idx.FASHION_CLASSES) + "\n")
    training = {
        "epochs": a.epochs,
        "seconds": round(train_seconds),
        "seed": a.seed,
        "batch": a.batch,
        "optimizer": f"SGD nesterov momentum 0.9, one-cycle peak lr {a.lr}, weight decay {a.wd}",
        "augmentation": f"random crop pad {a.pad}, horizontal flip, random erasing p={a.erase}",
        "label_smoothing": a.smoothing,
    }
    if a.zero_init_residual:  # recorded only when used, as the Go writer omits false
        training["zero_init_residual"] = True
    training["threads"] = a.threads
    entry = manifest.entry(
        path, name=name, arch=a.arch, classes=10, size=a.size, resize=a.size, mean=mean, std=std,
        labels=LABELS_FILE, dtype="F16", accuracy=round(acc16, 4), eval_images=len(xte), training=training,
        source=("Trained here by tools/train/train_fashion.py on Fashion-MNIST from Debian's "
                "dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)."),
        default=a.arch == "resnet18" or a.default)
    manifest.upsert(os.path.join(a.out, "manifest.json"), entry)
    total_s = time.time() - t_start
    print(f"wrote {path} ({entry['bytes']} bytes, sha256 {entry['sha256']})")
    print(f"test accuracy: fp32 {acc32:.4f}, fp16 weights {acc16:.4f} on {len(xte)} images")
    print(f"run time: {total_s:.0f}s total, {train_seconds:.0f}s training ({train_seconds / a.epochs:.0f}s/epoch)")


if __name__ == "__main__":
    main()
