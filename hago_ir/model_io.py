"""Inputs and outputs of a qsim model: names, checks and .npz files.

Used by the interpreter (to bind arrays to function arguments), by hago-run, and
later by calibration and search, which read the same .npz format. Arrays are
addressed by the model's ONNX input/output names (the `qsim.name` argument
attributes); a single-input model also accepts the key `input`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType

from hago_ir.dialects.qsim import IO_NAME_ATTR
from hago_ir.errors import HagoError


def find_function(module: ModuleOp, name: str | None = None) -> func.FuncOp:
    """The function to run: `name`, else `main`, else the only function."""
    functions = [op for op in module.walk() if isinstance(op, func.FuncOp)]
    if name is not None or any(f.sym_name.data == "main" for f in functions):
        wanted = name or "main"
        for function in functions:
            if function.sym_name.data == wanted:
                return function
        raise HagoError(f"the module has no function @{wanted}")
    if len(functions) != 1:
        raise HagoError(
            f"the module has {len(functions)} functions and none is @main: "
            "say which one to run"
        )
    return functions[0]


def _names(attrs, count: int, prefix: str) -> list[str]:
    names = []
    for index in range(count):
        name = None
        if attrs is not None:
            entry = attrs.data[index].data.get(IO_NAME_ATTR)
            if isinstance(entry, StringAttr):
                name = entry.data
        names.append(name or f"{prefix}{index}")
    return names


def input_names(function: func.FuncOp) -> list[str]:
    return _names(function.arg_attrs, len(function.args), "arg")


def output_names(function: func.FuncOp) -> list[str]:
    return _names(function.res_attrs, len(function.function_type.outputs), "result")


def _by_input_name(names: list[str], arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays keyed by model input name (`input` stands for a single input), all present."""
    arrays = dict(arrays)
    if len(names) == 1 and names[0] not in arrays and "input" in arrays:
        arrays[names[0]] = arrays.pop("input")
    missing = [n for n in names if n not in arrays]
    if missing:
        raise HagoError(
            f"{prefix}no array for model input(s) {', '.join(repr(n) for n in missing)}; "
            f"given: {', '.join(repr(k) for k in arrays) or 'nothing'}"
        )
    return arrays


def bind_inputs(function: func.FuncOp, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Arrays for the function's arguments, in order, checked against their types."""
    names = input_names(function)
    arrays = _by_input_name(names, arrays, "")
    bound = []
    for name, arg in zip(names, function.args):
        array = np.asarray(arrays[name])
        type_ = arg.type
        assert isinstance(type_, TensorType)
        expected = tuple(type_.get_shape())
        if array.dtype.kind not in "fiu":
            raise HagoError(f"input '{name}' has dtype {array.dtype}; expected a float tensor")
        if array.shape != expected:
            raise HagoError(
                f"input '{name}' has shape {list(array.shape)}; the model expects {list(expected)}"
            )
        if not np.all(np.isfinite(array)):
            raise HagoError(f"input '{name}' contains NaN or infinite values")
        bound.append(array.astype(np.float64))
    return bound


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All arrays of an .npz file, with a clean error for a missing or bad file."""
    path = Path(path)
    if not path.is_file():
        raise HagoError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise HagoError(f"{path}: not a readable .npz file ({error})") from None


def save_npz_atomically(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> None:
    """Write an .npz so that a reader never sees a half-written file."""
    write_atomically(path, lambda handle: np.savez(handle, **arrays), binary=True)


def write_atomically(path, write, binary: bool = False) -> None:
    """Call write(handle) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise HagoError(f"{path}: directory {directory} does not exist")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; outputs are ordinary files
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            write(handle)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def calibration_batches(function: func.FuncOp, data: dict[str, np.ndarray], source: str) -> list[dict[str, np.ndarray]]:
    """Split a calibration set (one array per model input, samples first) into model-sized batches.

    Every array is checked before anything runs: present, numeric, finite,
    non-empty and shaped [N, *the model input's shape without its batch dim]
    (a batch-B model reads N / B batches; a remainder is dropped).
    """
    names = input_names(function)
    data = _by_input_name(names, {k: v for k, v in data.items() if k != "label"}, f"{source}: ")
    counts = set()
    for name, arg in zip(names, function.args):
        array = data[name]
        expected = tuple(arg.type.get_shape())  # type: ignore[union-attr]
        if array.dtype.kind not in "fiu":
            raise HagoError(f"{source}: input '{name}' has dtype {array.dtype}; expected floats")
        if array.ndim != len(expected) or tuple(array.shape[1:]) != expected[1:]:
            raise HagoError(
                f"{source}: input '{name}' has shape {list(array.shape)}; expected "
                f"[N, {', '.join(str(d) for d in expected[1:])}] (N samples of the model's input {list(expected)})"
            )
        if array.shape[0] < expected[0]:
            raise HagoError(
                f"{source}: input '{name}' has {array.shape[0]} samples; the model's batch needs at least {expected[0]}"
            )
        if not np.all(np.isfinite(array)):
            bad = int(np.argmax(~np.isfinite(array.reshape(array.shape[0], -1)).any(axis=1)))
            raise HagoError(f"{source}: input '{name}' contains NaN or infinite values (first in sample {bad})")
        counts.add(array.shape[0] // expected[0])
    if len(counts) != 1:
        raise HagoError(f"{source}: the model inputs have different numbers of samples")
    batches = counts.pop()
    result = []
    for index in range(batches):
        batch = {}
        for name, arg in zip(names, function.args):
            size = arg.type.get_shape()[0]  # type: ignore[union-attr]
            batch[name] = data[name][index * size : (index + 1) * size].astype(np.float64)
        result.append(batch)
    return result


def load_module(path: str):
    """Parse a .mlir file, or import an .onnx file, into a verified module."""
    from xdsl.context import Context
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func
    from xdsl.parser import Parser

    from hago_ir import registry
    from hago_ir.onnx_frontend import import_onnx

    file = Path(path)
    if not file.is_file():
        raise HagoError(f"{path}: no such file")
    if file.suffix == ".onnx":
        return import_onnx(str(file))
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(Func)
    for name, factory in registry.DIALECTS.items():
        ctx.register_dialect(name, factory)
    module = Parser(ctx, file.read_text(), str(file)).parse_module()
    module.verify()
    return module
