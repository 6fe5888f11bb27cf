"""Lazy registries of hago's dialects and passes, by name.

Each entry maps a name to a factory, so that a tool loads only what it uses
(TVM, for one, is slow to import). hago-opt registers these; the Python API
looks passes up here too.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass


def _qsim() -> Dialect:
    from hago_ir.dialects.qsim import Qsim

    return Qsim


def _canonicalize() -> type[ModulePass]:
    from hago_ir.passes.canonicalize import HagoCanonicalize

    return HagoCanonicalize


def _hwspec() -> Dialect:
    from hago_ir.dialects.hwspec import HwSpec

    return HwSpec


def _qnn() -> Dialect:
    from hago_ir.dialects.qnn import Qnn

    return Qnn


def _realize() -> type[ModulePass]:
    from hago_ir.passes.realize import HagoRealize

    return HagoRealize


def _check_legal() -> type[ModulePass]:
    from hago_ir.passes.check_legal import HagoCheckLegal

    return HagoCheckLegal


def _topology() -> type[ModulePass]:
    from hago_ir.passes.topology import HagoTopology

    return HagoTopology


def _insert_simq() -> type[ModulePass]:
    from hago_ir.passes.insert_simq import HagoInsertSimq

    return HagoInsertSimq


def _calibrate() -> type[ModulePass]:
    from hago_ir.passes.calibrate import HagoCalibrate

    return HagoCalibrate


def _search() -> type[ModulePass]:
    from hago_ir.passes.search import HagoSearch

    return HagoSearch


DIALECTS: dict[str, Callable[[], Dialect]] = {
    "qsim": _qsim,
    "hwspec": _hwspec,
    "qnn": _qnn,
}

PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "hago-canonicalize": _canonicalize,
    "hago-topology": _topology,
    "hago-insert-simq": _insert_simq,
    "hago-calibrate": _calibrate,
    "hago-search": _search,
    "hago-realize": _realize,
    "hago-check-legal": _check_legal,
}
