"""The native anchor for bench/gpu/run.mjs: PyTorch eager on the same seeded
weights and input, on CUDA where there is one (else the CPU, so that the
whole chain can be tried without a GPU), then one table with ours beside it.

    /usr/bin/python3 bench/gpu/torch_cuda.py [--dir bench/gpu/artifacts] [--runs 50] [--warmup 10]

It reads run.mjs's results.json, <net>.safetensors, input-<size>.f32 and
<net>-cpu.f32 (the CPU engine's logits) from --dir, and writes torch.json
there. Each timed run is one image end to end, as ours: the input copied to
the device, the forward pass, the logits copied back. Modes: fp32 with
TF32 off (exact fp32), PyTorch's default on CUDA (TF32 convolutions), and
fp16 (model.half()).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from tools.pyutil.safetensors_io import load_into  # noqa: E402


def timed(model, x, device, dtype, runs, warmup):
    """Median and min milliseconds of one image through model, and its logits."""
    def once():
        with torch.inference_mode():
            return model(x.to(device=device, dtype=dtype)).float().cpu()
    logits = once()
    for _ in range(warmup):
        once()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()  # .cpu() waits for the GPU
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times), logits[0].numpy()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.path.join(here, "artifacts"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=100)
    a = ap.parse_args()
    with open(os.path.join(a.dir, "results.json")) as f:
        ours = json.load(f)
    size = ours["size"]
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name() if cuda else f"CPU ({torch.get_num_threads()} threads)"
    nhwc = np.fromfile(os.path.join(a.dir, f"input-{size}.f32"), dtype="<f4").reshape(1, size, size, 3)
    x = torch.from_numpy(nhwc.transpose(0, 3, 1, 2).copy())
    modes = [("fp32", torch.float32, False), ("tf32 (default)", torch.float32, True), ("fp16", torch.float16, False)]
    if not cuda:
        modes = modes[:1]
    rows = []
    for n in ours["nets"]:
        net = n["net"]
        model = getattr(torchvision.models, net)(num_classes=1000)
        load_into(model, os.path.join(a.dir, f"{net}.safetensors"))
        model.eval().to(device)
        reference = np.fromfile(os.path.join(a.dir, f"{net}-cpu.f32"), dtype="<f4")
        for mode, dtype, tf32 in modes:
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
            med, low, logits = timed(model.to(dtype), x, device, dtype, a.runs, a.warmup)
            diff = float(np.abs(logits - reference).max() / np.abs(reference).max())
            rows.append({"net": net, "mode": mode, "medianMs": med, "minMs": low, "diff": diff,
                         "sameTop1": bool(logits.argmax() == reference.argmax())})
        model.float()
    result = {"device": name, "torch": torch.__version__, "cudnn": torch.backends.cudnn.version() if cuda else None,
              "runs": a.runs, "warmup": a.warmup, "rows": rows}
    with open(os.path.join(a.dir, "torch.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(table(ours, result))


def table(ours, torch_result):
    """One Markdown table: ours (WebGPU through Dawn) and PyTorch eager, per
    network, with ours over PyTorch's exact fp32."""
    out = [
        f"- ours: Go WebGPU backend in Node + Dawn, adapter {ours['adapter']}; "
        f"PyTorch {torch_result['torch']} eager on {torch_result['device']}",
        f"- input {ours['size']}x{ours['size']}, batch 1, median of {ours['runs']} runs after {ours['warmup']} warm-up "
        f"(PyTorch: {torch_result['runs']} after {torch_result['warmup']}); each run one image end to end",
        "",
        "| network | engine | mode | ms/image (median) | min ms | vs PyTorch fp32 | logits vs our CPU engine (max diff / max logit) | same top-1 |",
        "|---|---|---|--:|--:|--:|--:|---|",
    ]
    for n in ours["nets"]:
        anchor = next(r for r in torch_result["rows"] if r["net"] == n["net"] and r["mode"] == "fp32")["medianMs"]
        for m in n["modes"]:
            mode = m.get("label", m["mode"])
            if "unavailable" in m:
                out.append(f"| {n['net']} | ours WebGPU | {mode} | unavailable on this adapter (no shader-f16) | | | | |")
                continue
            if "error" in m:
                out.append(f"| {n['net']} | ours WebGPU | {mode} | not run: {m['error'].splitlines()[0]} | | | | |")
                continue
            out.append(f"| {n['net']} | ours WebGPU | {mode} | {m['medianMs']:.2f} | {m['minMs']:.2f} | "
                       f"{m['medianMs'] / anchor:.2f}x | {m['diff']:.1e} | {'yes' if m['sameTop1'] else 'NO'} |")
        for r in torch_result["rows"]:
            if r["net"] == n["net"]:
                out.append(f"| {n['net']} | PyTorch | {r['mode']} | {r['medianMs']:.2f} | {r['minMs']:.2f} | "
                           f"{r['medianMs'] / anchor:.2f}x | {r['diff']:.1e} | {'yes' if r['sameTop1'] else 'NO'} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
