#!/usr/bin/env python3
"""Writes the ONNX test fixtures from onnx_models.py to disk (used by lit tests).

make_test_models.py NAME OUT.onnx          write model NAME (bad_models keys: raw bytes)
make_test_models.py --inputs NAME OUT.npz  write seeded random inputs for model NAME
make_test_models.py --list                 list model names
make_test_models.py --all DIR              write every model as DIR/NAME.onnx and
                                           its inputs as DIR/NAME.inputs.npz (lit
                                           does this once per run: importing onnx
                                           costs more than building a model)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnx_models  # noqa: E402


def model_names() -> list[str]:
    return [
        *onnx_models.single_op_models(),
        *onnx_models.NETWORKS,
        *onnx_models.bad_models(),
    ]


def build_model(name: str) -> onnx.ModelProto:
    if name in onnx_models.NETWORKS:
        return onnx_models.NETWORKS[name]()
    models = onnx_models.single_op_models()
    if name in models:
        return models[name]
    bad = onnx_models.bad_models()
    if name in bad:
        return onnx.load_from_string(bad[name])  # only the parseable ones get here
    raise KeyError(name)


def model_bytes(name: str) -> bytes:
    bad = onnx_models.bad_models()
    if name in bad:
        return bad[name]
    return build_model(name).SerializeToString()


def write_all(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    valid = {**onnx_models.single_op_models(), **{n: b() for n, b in onnx_models.NETWORKS.items()}}
    for name, model in valid.items():
        (directory / f"{name}.onnx").write_bytes(model.SerializeToString())
        with open(directory / f"{name}.inputs.npz", "wb") as f:
            np.savez(f, **onnx_models.random_inputs(model))
    for name, data in onnx_models.bad_models().items():
        (directory / f"{name}.onnx").write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--list", action="store_true", help="list model names and exit")
    parser.add_argument(
        "--inputs",
        action="store_true",
        help="write seeded random inputs (.npz keyed by input name)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for --inputs (default 0)"
    )
    parser.add_argument("--all", type=Path, metavar="DIR", help="write every model to DIR")
    parser.add_argument("name", nargs="?")
    parser.add_argument("out", nargs="?", type=Path)
    args = parser.parse_args(argv)

    if args.list:
        print("\n".join(model_names()))
        return 0
    if args.all is not None:
        write_all(args.all)
        return 0
    if args.name is None or args.out is None:
        parser.error("NAME and OUT are required (or use --list)")

    names = model_names()
    if args.name not in names:
        parser.error(f"unknown model {args.name!r}; known: {', '.join(names)}")

    if args.inputs:
        try:
            model = build_model(args.name)
        except Exception as err:  # unparseable bad models have no inputs
            parser.error(f"model {args.name!r} has no readable inputs: {err}")
        with open(args.out, "wb") as f:
            np.savez(f, **onnx_models.random_inputs(model, seed=args.seed))
    else:
        args.out.write_bytes(model_bytes(args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
