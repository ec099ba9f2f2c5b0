#!/usr/bin/python3
"""PyTorch's single-thread latency for ResNet-18/50 at 224x224: the
reference the Go engine's benchmarks are compared with (docs/benchmark-log.md, "Native engine vs PyTorch").

Every convolution runs on oneDNN (to_mkldnn model and an mkldnn input):
Debian's default BLAS path is about ten times slower and is not the bar.
Usage: /usr/bin/python3 bench/torch_latency.py [runs]
"""
import statistics
import sys
import time

import torch
import torchvision
from torch.utils import mkldnn as mkldnn_utils


def latency_ms(name, runs):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    model = mkldnn_utils.to_mkldnn(model)
    x = torch.randn(1, 3, 224, 224).to_mkldnn()
    times = []
    with torch.no_grad():
        for _ in range(3):  # warm-up: oneDNN picks and caches its kernels
            model(x)
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, oneDNN {torch.backends.mkldnn.is_available()}")
    for name in ("resnet18", "resnet50"):
        median, best = latency_ms(name, runs)
        print(f"{name}: median {median:.1f} ms, min {best:.1f} ms over {runs} runs")


if __name__ == "__main__":
    main()
