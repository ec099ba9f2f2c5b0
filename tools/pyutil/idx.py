"""Reader for the IDX files of (Fashion-)MNIST, plain or gzip-compressed."""
import gzip
import os
import struct

import numpy as np

FASHION_DIR = "/usr/share/datasets/fashion-mnist"

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    kind, ndim = data[2], data[3]
    if kind not in _TYPES:
        raise ValueError(f"{path}: unknown IDX element type {kind:#x}")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dt = np.dtype(_TYPES[kind])
    count = int(np.prod(dims)) if dims else 1
    body = data[4 + 4 * ndim:]
    if len(body) != count * dt.itemsize:
        raise ValueError(f"{path}: expected {count * dt.itemsize} data bytes, have {len(body)}")
    return np.frombuffer(body, dtype=dt).reshape(dims).copy()


def load_fashion(split, root=FASHION_DIR):
    """Return (images uint8 [N,28,28], labels uint8 [N]) for split 'train' or 'test'."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = read_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))
    if images.shape[0] != labels.shape[0]:
        raise ValueError("image and label counts differ")
    return images, labels
