#!/usr/bin/python3
"""Build the fixtures and torchvision reference tensors for engine/preprocess.

Run with Debian's interpreter, which has torch 1.13, torchvision 0.14 and
Pillow 9.4 (libjpeg-turbo 2.1, libwebp 1.2):

    /usr/bin/python3 engine/preprocess/testdata/make_reference.py [SKIMAGE_DATA]

SKIMAGE_DATA is the data folder of Debian's python3-skimage package (for
example the extracted .deb: usr/lib/python3/dist-packages/skimage/data). When
it is given, the photographs are (re)copied from it and the derived fixtures
are rebuilt; without it, only the reference tensors are rebuilt from the
fixtures already in this folder.

Each reference is torchvision's tensor for the fixture, written as raw
little-endian float32 in NCHW order (1x3xHxW), gzip-compressed, as
ref_<name>.f32.gz. See README.md for the sources and licenses.
"""

import gzip
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image, ImageOps
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))

IMAGENET = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])

# The Fashion-MNIST models' pipeline: 28x28 grayscale, upscaled to 32.
FASHION32 = transforms.Compose([
    transforms.Resize(32),
    transforms.CenterCrop(32),
    transforms.ToTensor(),
    transforms.Normalize(mean=(0.2860,) * 3, std=(0.3530,) * 3),
])


def imagenet_norm(resize, crop):
    return transforms.Compose([
        transforms.Resize(resize),
        transforms.CenterCrop(crop),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])


# name -> (fixture file, pipeline)
REFERENCES = {
    "rocket": ("rocket.jpg", IMAGENET),
    "retina": ("retina.jpg", IMAGENET),
    "chelsea": ("chelsea.png", IMAGENET),
    "astronaut_exif6": ("astronaut_exif6.jpg", IMAGENET),
    "coffee_webp": ("coffee.webp", IMAGENET),
    "gray28": ("gray28.png", FASHION32),
    # tiny.png is 20x14, resized to 28x20. A crop of 24 pads 2 rows above
    # and below; a crop of 15 starts at round(6.5) = 6 and round(2.5) = 2
    # (Python rounds half to even).
    "tiny_pad24": ("tiny.png", imagenet_norm(20, 24)),
    "tiny_crop15": ("tiny.png", imagenet_norm(20, 15)),
}

# EXIF orientation -> PIL transpose that turns the upright picture into the
# stored one (the inverse of what ImageOps.exif_transpose applies).
TO_STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def stored_with_orientation(upright, orientation):
    """The pixels to store so that applying `orientation` gives `upright`."""
    op = TO_STORED[orientation]
    return upright if op is None else upright.transpose(op)


def save_oriented_jpeg(upright, orientation, path, **kw):
    stored = stored_with_orientation(upright, orientation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, "JPEG", exif=exif.tobytes(), **kw)
    # Check the fixture against PIL's own reading of the tag.
    back = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    assert back.size == upright.size, (path, back.size, upright.size)
    diff = np.abs(np.asarray(back, np.int16) - np.asarray(upright, np.int16))
    assert diff.mean() < 4, (path, diff.mean())


def make_fixtures(src):
    # Real photographs, copied unchanged.
    for name in ("rocket.jpg", "retina.jpg", "chelsea.png"):
        shutil.copyfile(os.path.join(src, name), os.path.join(HERE, name))

    # astronaut.png (512x512) cropped to a landscape 512x384 so that a wrong
    # rotation changes the shape, stored rotated with orientation 6 (the
    # usual tag of a phone held upright).
    astro = Image.open(os.path.join(src, "astronaut.png")).convert("RGB")
    astro = astro.crop((0, 0, 512, 384))
    save_oriented_jpeg(astro, 6, os.path.join(HERE, "astronaut_exif6.jpg"), quality=90)

    # A 28x28 grayscale picture like a Fashion-MNIST sample, from coffee.png.
    coffee = Image.open(os.path.join(src, "coffee.png")).convert("L")
    coffee.crop((100, 0, 500, 400)).resize((28, 28), Image.Resampling.BOX).save(
        os.path.join(HERE, "gray28.png"))

    # Tiny fixtures for every decoder, all of the same 20x14 picture; the
    # lossless ones must decode to exactly tiny.png's pixels.
    tiny = Image.open(os.path.join(src, "chelsea.png")).convert("RGB")
    tiny = tiny.resize((20, 14), Image.Resampling.BOX)
    tiny.save(os.path.join(HERE, "tiny.png"))
    tiny.save(os.path.join(HERE, "tiny.bmp"))
    tiny.save(os.path.join(HERE, "tiny.tif"))
    tiny.save(os.path.join(HERE, "tiny.webp"), lossless=True)
    tiny.save(os.path.join(HERE, "tiny_lossy.webp"), quality=90)
    tiny.save(os.path.join(HERE, "tiny.jpg"), quality=95)
    # GIF is paletted: store the exact palette picture as tiny_gif.png too.
    pal = tiny.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    pal.save(os.path.join(HERE, "tiny.gif"))
    pal.convert("RGB").save(os.path.join(HERE, "tiny_gif.png"))

    # Odd-sized JPEGs with subsampled chroma, and PIL's decoding of each
    # (libjpeg-turbo), to check the chroma upsampling and color conversion
    # at the edges.
    cat = Image.open(os.path.join(src, "chelsea.png")).convert("RGB").crop((150, 40, 211, 77))
    # (libjpeg filters only across more than two chroma columns: the
    # narrow ones are 4 pixels wide.)
    narrow = cat.crop((20, 5, 24, 14))
    for name, im, sub in (("jpeg420_odd", cat, 2), ("jpeg422_odd", cat, 1),
                          ("jpeg420_narrow", narrow, 2), ("jpeg422_narrow", narrow, 1)):
        path = os.path.join(HERE, name + ".jpg")
        im.save(path, quality=90, subsampling=sub)
        Image.open(path).convert("RGB").save(os.path.join(HERE, name + ".pil.png"))

    # Lossy WebP of odd size, opaque and with alpha, and PIL's decoding of
    # each (libwebp), to check the limited-range YUV conversion and chroma
    # upsampling done for x/image/webp's output.
    path = os.path.join(HERE, "webp_odd.webp")
    cat.save(path, quality=90)
    Image.open(path).convert("RGB").save(os.path.join(HERE, "webp_odd.pil.png"))
    catA = cat.copy()
    catA.putalpha(Image.linear_gradient("L").resize(cat.size))
    path = os.path.join(HERE, "webp_odd_alpha.webp")
    catA.save(path, quality=90)
    back = Image.open(path)
    assert back.mode == "RGBA", back.mode
    back.save(os.path.join(HERE, "webp_odd_alpha.pil.png"))

    # coffee.png as a lossy WebP photo, for a torchvision reference.
    Image.open(os.path.join(src, "coffee.png")).convert("RGB").save(
        os.path.join(HERE, "coffee.webp"), quality=85)

    # All eight EXIF orientations of one 24x16 picture made of 8x8 solid
    # blocks (blocks survive JPEG nearly exactly), 4:4:4 at quality 100.
    blocks = Image.new("RGB", (24, 16))
    colors = [(230, 20, 20), (20, 200, 20), (20, 20, 230),
              (240, 240, 30), (30, 230, 230), (120, 60, 10)]
    for i, c in enumerate(colors):
        x, y = (i % 3) * 8, (i // 3) * 8
        blocks.paste(c, (x, y, x + 8, y + 8))
    for o in range(1, 9):
        save_oriented_jpeg(blocks, o, os.path.join(HERE, f"orient_{o}.jpg"),
                           quality=100, subsampling=0)


def open_like_torchvision(path):
    # torchvision's ImageFolder loader: Image.open + convert("RGB"). EXIF
    # orientation is applied first (torchvision does not, browsers and
    # preprocess.Decode do).
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    return im.convert("RGB")


def write_references():
    for name, (fname, pipeline) in REFERENCES.items():
        img = open_like_torchvision(os.path.join(HERE, fname))
        t = pipeline(img).unsqueeze(0).contiguous()
        assert t.dtype == torch.float32
        data = t.numpy().astype("<f4").tobytes()
        out = os.path.join(HERE, f"ref_{name}.f32.gz")
        with open(out, "wb") as f:
            # mtime=0 keeps the file byte-identical across runs.
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as g:
                g.write(data)
        print(f"{out}: {img.size[0]}x{img.size[1]} -> {tuple(t.shape)}")


def main():
    if len(sys.argv) > 1:
        make_fixtures(sys.argv[1])
    write_references()


if __name__ == "__main__":
    main()
