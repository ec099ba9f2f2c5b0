"""Fashion-MNIST preprocessing shared by training and the reference
evaluation. It is exactly what the Go/browser side does to a 28x28 image:

    PIL Image (mode "L") -> Resize(resize) bilinear -> CenterCrop(crop)
    -> ToTensor (x/255) -> repeat to 3 channels -> Normalize(mean, std)
"""
import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image


def pil_pipeline(resize, crop):
    # torchvision 0.14: Resize on a PIL image calls PIL's Image.resize with
    # BILINEAR (no antialias option applies to PIL inputs).
    return T.Compose([
        T.Resize(resize, interpolation=T.InterpolationMode.BILINEAR),
        T.CenterCrop(crop),
        T.ToTensor(),
    ])


def to_unit_tensor(images, resize, crop):
    """uint8 [N,28,28] -> float32 [N,1,crop,crop] in [0,1], via PIL."""
    tf = pil_pipeline(resize, crop)
    out = torch.empty(len(images), 1, crop, crop, dtype=torch.float32)
    for i, a in enumerate(images):
        out[i] = tf(Image.fromarray(np.ascontiguousarray(a), mode="L"))
    return out


def normalize3(x, mean, std):
    """[N,1,H,W] in [0,1] -> [N,3,H,W] normalized per channel."""
    x = x.expand(-1, 3, -1, -1)
    m = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - m) / s
