#!/usr/bin/python3
"""Writes the PyTorch goldens that engine/arch/summary_test.go compares to.

Run from this directory with Debian's PyTorch 1.13 and torchvision 0.14:

    /usr/bin/python3 make_summaries.py

For every ResNet it writes NAME.summary.txt, the table printed by
torchsummary.summary(model, (3, 224, 224), batch_size=64) (the pip package
torchsummary 1.5.1, sksq96/pytorch-summary), and NAME.tree.txt, the output of
print(model). torchsummary is not packaged for Debian, so summary() below
re-implements its logic: a forward hook on every module except nn.Sequential,
nn.ModuleList and the model itself; a forward pass with a batch of 2; dim 0 of
each output shape replaced by batch_size; and its arithmetic for the sizes in
MB, with numpy's 64-bit integers as on Linux.

NAME is resnetDEPTH for torchvision's models (stride on the 3x3 conv, "v1.5")
and resnetDEPTH-v1 for the paper's layout, made here by moving each strided
Bottleneck's stride from conv2 to conv1.
"""

from collections import OrderedDict
import io
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision


def summary(model, input_size, batch_size=-1):
    """torchsummary.summary, returning the text instead of printing it."""
    rows = OrderedDict()
    hooks = []

    def hook(module, inputs, output):
        class_name = str(module.__class__).split(".")[-1].split("'")[0]
        key = "%s-%i" % (class_name, len(rows) + 1)
        shape = list(output.size())
        shape[0] = batch_size
        params = 0
        trainable = None
        if hasattr(module, "weight") and hasattr(module.weight, "size"):
            params += torch.prod(torch.LongTensor(list(module.weight.size())))
            trainable = module.weight.requires_grad
        if hasattr(module, "bias") and hasattr(module.bias, "size"):
            params += torch.prod(torch.LongTensor(list(module.bias.size())))
        rows[key] = (shape, params, trainable)

    def register(module):
        if not isinstance(module, (nn.Sequential, nn.ModuleList)) and not (module == model):
            hooks.append(module.register_forward_hook(hook))

    model.apply(register)
    with torch.no_grad():
        model(torch.rand(2, *input_size))
    for h in hooks:
        h.remove()

    out = io.StringIO()
    p = lambda s: print(s, file=out)
    p("----------------------------------------------------------------")
    p("{:>20}  {:>25} {:>15}".format("Layer (type)", "Output Shape", "Param #"))
    p("================================================================")
    total_params = 0
    total_output = 0
    trainable_params = 0
    for key, (shape, params, trainable) in rows.items():
        p("{:>20}  {:>25} {:>15}".format(key, str(shape), "{0:,}".format(params)))
        total_params += params
        total_output += np.prod(shape)
        if trainable:
            trainable_params += params
    total_input_size = abs(np.prod([input_size]) * batch_size * 4. / (1024 ** 2.))
    total_output_size = abs(2. * total_output * 4. / (1024 ** 2.))
    total_params_size = abs(total_params.numpy() * 4. / (1024 ** 2.))
    total_size = total_params_size + total_output_size + total_input_size
    p("================================================================")
    p("Total params: {0:,}".format(total_params))
    p("Trainable params: {0:,}".format(trainable_params))
    p("Non-trainable params: {0:,}".format(total_params - trainable_params))
    p("----------------------------------------------------------------")
    p("Input size (MB): %0.2f" % total_input_size)
    p("Forward/backward pass size (MB): %0.2f" % total_output_size)
    p("Params size (MB): %0.2f" % total_params_size)
    p("Estimated Total Size (MB): %0.2f" % total_size)
    p("----------------------------------------------------------------")
    return out.getvalue()


def to_v1(model):
    """Moves each strided Bottleneck's stride from its 3x3 conv to its first 1x1."""
    for m in model.modules():
        if isinstance(m, torchvision.models.resnet.Bottleneck) and m.conv2.stride != (1, 1):
            m.conv1.stride, m.conv2.stride = m.conv2.stride, (1, 1)
    return model


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    torch.manual_seed(0)
    cases = [(d, False) for d in (18, 34, 50, 101, 152)] + [(50, True), (101, True), (152, True)]
    for depth, v1 in cases:
        name = "resnet%d%s" % (depth, "-v1" if v1 else "")
        model = getattr(torchvision.models, "resnet%d" % depth)()
        if v1:
            to_v1(model)
        write(name + ".summary.txt", summary(model, (3, 224, 224), batch_size=64))
        write(name + ".tree.txt", str(model) + "\n")
        if depth == 18:
            # torchsummary's default batch_size=-1, and another input size.
            write(name + ".batch-1.summary.txt", summary(model, (3, 224, 224)))
            write(name + ".input160.summary.txt", summary(model, (3, 160, 160), batch_size=8))
        print(name, file=sys.stderr)


if __name__ == "__main__":
    main()
