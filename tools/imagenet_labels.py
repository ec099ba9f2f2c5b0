#!/usr/bin/python3
"""Write weights/imagenet-classes.txt: the 1000 ImageNet-1K class names in
output order, one per line, exactly as Debian's torchvision lists them
(torchvision.models._meta._IMAGENET_CATEGORIES, the names its pretrained
weights' meta["categories"] use).

    /usr/bin/python3 tools/imagenet_labels.py [OUT]   # default weights/imagenet-classes.txt
"""
import os
import sys

from torchvision.models._meta import _IMAGENET_CATEGORIES as CATEGORIES


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(here, "..", "weights", "imagenet-classes.txt"))
    # The Go label parser splits on newlines and rejects blank lines, so
    # refuse anything it would misread rather than write a broken file.
    if len(CATEGORIES) != 1000:
        raise SystemExit(f"torchvision lists {len(CATEGORIES)} categories, want 1000")
    for i, c in enumerate(CATEGORIES):
        if not c.strip() or "\n" in c or "\r" in c or c != c.strip():
            raise SystemExit(f"category {i} {c!r} cannot be one line of the labels file")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(CATEGORIES) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}: {len(CATEGORIES)} classes")


if __name__ == "__main__":
    main()
