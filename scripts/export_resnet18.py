"""Export a ResNet-18 with seeded random weights to ONNX, for latency benchmarks.

Plain torch (torchvision does not import beside the local torch wheel); the
architecture is torchvision's resnet18 (BasicBlock, [2, 2, 2, 2], 1000 classes),
input "input" [1, 3, 224, 224], output "logits". Random weights are fine for
latency; calibration samples are seeded standard-normal images.

    .venv-models/bin/python scripts/export_resnet18.py   # -> ~/.cache/hago/models/resnet18.onnx
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "hago" / "models"


def build(nn):
    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(y)) + identity)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            layers, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.layers = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            return self.fc(self.avgpool(self.layers(x)).flatten(1))

    return ResNet18()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE / "resnet18.onnx")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("error: needs torch==2.13.0 (use .venv-models)", file=sys.stderr)
        return 1
    torch.manual_seed(args.seed)
    model = build(torch.nn)
    model.eval()
    # BatchNorm statistics that keep activations in a sane range with random weights.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_var.fill_(1.0)
                module.weight.mul_(0.5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, 224, 224)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, dummy, str(args.out), dynamo=False, opset_version=13,
                          input_names=["input"], output_names=["logits"], do_constant_folding=True)
    rng = np.random.default_rng(args.seed)
    np.savez(args.out.with_name("resnet18_calib.npz"), input=rng.standard_normal((16, 3, 224, 224)).astype(np.float32))
    print(f"wrote {args.out} and {args.out.with_name('resnet18_calib.npz')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
