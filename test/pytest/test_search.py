"""The bit-width search on the bundled Fashion-MNIST CNN (small sample sets, seeded, deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hago_ir.calibrate import calibrate
from hago_ir.canonicalize import canonicalize
from hago_ir.errors import HagoError
from hago_ir.hardware_spec import load_spec
from hago_ir.insert_simq import insert_simulated_quantize
from hago_ir.onnx_frontend import import_onnx
from hago_ir.search import bits_plot_svg, search, search_edges, strategy_json
from hago_ir.simulator import Simulator
from hago_ir.topology import assign_topology

FASHION = Path(__file__).resolve().parents[2] / "examples" / "fashion_cnn"
CALIB = dict(np.load(FASHION / "calib.npz"))
DATA = {"input": CALIB["input"][:48], "label": CALIB["label"][:48]}


def calibrated(spec: str = "arm-a72-i16"):
    module = import_onnx(str(FASHION / "model.onnx"))
    canonicalize(module)
    assign_topology(module, load_spec(spec))
    insert_simulated_quantize(module)
    calibrate(module, {"input": CALIB["input"][:64]}, method="max")
    return module


def test_simulator_reuse_gives_the_same_outputs_as_recomputing() -> None:
    module = calibrated()
    edges = search_edges(module)
    reusing = Simulator(module, {"input": DATA["input"]}, chunk_size=16)
    fresh = Simulator(module, {"input": DATA["input"]}, chunk_size=16, reuse=False)
    reusing.run()
    for edge in (edges[3], edges[12], edges[-2]):
        reusing.set_bits([(edge.op, 6)])
        fresh.set_bits([(edge.op, 6)])
        np.testing.assert_array_equal(reusing.run()[0], fresh.run()[0])
    assert reusing.ops_run < fresh.ops_run
    # Without reuse nothing is read back: no chunk keeps its activations
    # (on the 10,000-image test split they took 21 GB).
    assert all(not cache for cache in fresh.cache)
    assert all(cache for cache in reusing.cache)


def test_greedy_repairs_the_int16_overflow_and_is_deterministic() -> None:
    """On arm-a72-i16, all-8-bit strategies overflow the i16 accumulators; greedy lowers bits."""
    first = search(calibrated(), DATA, "greedy", "accuracy", budget=30)
    second = search(calibrated(), DATA, "greedy", "accuracy", budget=30)
    assert first.bits == second.bits and first.score == second.score
    naive = first.edges  # the same module, evaluated at its maximum bits:
    module = calibrated()
    everything_at_max = search(module, DATA, "greedy", "accuracy", budget=1)
    assert everything_at_max.bits == [e.max_bits for e in search_edges(module)]
    assert first.score >= everything_at_max.score + 10  # overflow costs a lot; greedy wins it back
    assert sum(first.bits) < sum(e.max_bits for e in naive)
    assert all(e.min_bits <= b <= e.max_bits for e, b in zip(first.edges, first.bits))
    # the chosen bits are written into the IR
    assert [e.op.effective_bits.value.data for e in first.edges] == first.bits


def test_search_resumes_from_its_log(tmp_path: Path) -> None:
    log = tmp_path / "search.jsonl"
    complete = search(calibrated(), DATA, "greedy", "accuracy", budget=16, log_path=str(log))
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["objective"] == "accuracy" and len(lines) == 1 + complete.evaluations
    log.write_text("\n".join(lines[:9]) + "\n" + lines[9][:10])  # killed while writing trial 9
    resumed = search(calibrated(), DATA, "greedy", "accuracy", budget=16, log_path=str(log))
    assert resumed.bits == complete.bits and resumed.score == complete.score
    assert resumed.evaluations == complete.evaluations - 8
    assert all(json.loads(line) for line in log.read_text().splitlines())  # the cut line is gone


@pytest.mark.parametrize("method", ["random", "annealing"])
def test_baselines_stay_in_budget_and_range(method: str) -> None:
    result = search(calibrated("x86-vnni"), DATA, method, "agreement", budget=12, seed=3, max_drop=5.0)
    assert result.trials <= 12
    assert all(e.min_bits <= b <= e.max_bits for e, b in zip(result.edges, result.bits))
    again = search(calibrated("x86-vnni"), DATA, method, "agreement", budget=12, seed=3, max_drop=5.0)
    assert again.bits == result.bits


def test_kl_objective_prefers_more_bits() -> None:
    module = calibrated("x86-vnni")
    result = search(module, DATA, "greedy", "kl", budget=6)
    assert result.float_score == 0.0 and result.score <= 0.0
    document = strategy_json(result)
    assert len(document["edges"]) == len(result.bits) and document["objective"] == "kl"
    assert bits_plot_svg(result).startswith("<svg") and "</svg>" in bits_plot_svg(result)


def test_holdout_checks_the_result_on_samples_the_search_did_not_see() -> None:
    """The search sees 36 of 48 samples; its pick must also be within tolerance on the other 12, or be the
    candidate that does best there."""
    from hago_ir.search import Evaluator, split_holdout

    searched, held = split_holdout(DATA, 0.25, "test data")
    assert len(searched["input"]) == 36
    assert len(held["label"]) == 12
    np.testing.assert_array_equal(held["label"], DATA["label"][36:])
    module = calibrated()
    result = search(module, DATA, "greedy", "accuracy", budget=30, max_drop=5.0, holdout=0.25)
    assert result.holdout_score is not None
    assert result.holdout_checked >= 1
    fresh = calibrated()
    assert Evaluator(fresh, search_edges(fresh), held, "accuracy").float_score() == result.holdout_float_score
    rescored = Evaluator(module, result.edges, held, "accuracy")(result.bits)
    assert rescored == result.holdout_score  # the reported held-out score is the chosen strategy's
    if result.holdout_score >= result.holdout_float_score - 5.0:  # found one within tolerance on both
        assert result.score >= result.float_score - 5.0
    plain = search(calibrated(), searched, "greedy", "accuracy", budget=30, max_drop=5.0)
    assert result.float_score == plain.float_score  # the search itself saw only the first 36 samples
    assert strategy_json(result)["holdout_score"] == result.holdout_score
    with pytest.raises(HagoError, match="too few to hold out"):
        search(calibrated(), {k: v[:2] for k, v in DATA.items()}, budget=2, holdout=0.1)
    with pytest.raises(HagoError, match="between 0 and 1"):
        search(calibrated(), DATA, budget=2, holdout=1.5)


def test_search_errors() -> None:
    with pytest.raises(HagoError, match="needs a 'label' array"):
        search(calibrated(), {"input": DATA["input"]}, objective="accuracy", budget=2)
    with pytest.raises(HagoError, match="unknown search method 'beam'"):
        search(calibrated(), DATA, method="beam")
    with pytest.raises(HagoError, match="unknown objective 'f1'"):
        search(calibrated(), DATA, objective="f1", budget=2)
    uncalibrated = import_onnx(str(FASHION / "model.onnx"))
    assign_topology(uncalibrated, load_spec("x86-vnni"))
    insert_simulated_quantize(uncalibrated)
    with pytest.raises(HagoError, match="run hago-calibrate first"):
        search(uncalibrated, DATA, budget=2)


def test_hago_search_from_the_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "search.npz"
    np.savez(data, **DATA)
    strategy, log, plot, out = (tmp_path / n for n in ("strategy.json", "log.jsonl", "bits.svg", "searched.mlir"))
    pipeline = (
        "hago-canonicalize,hago-topology{spec=arm-a72-i16},hago-insert-simq,"
        f'hago-calibrate{{data="{data}"}},'
        f'hago-search{{data="{data}" method=greedy budget=12 max-drop=0.5 log="{log}" strategy="{strategy}" plot="{plot}"}}'
    )
    done = subprocess.run(
        [sys.executable, "-m", "hago_ir.tools.hago_opt", str(FASHION / "model.onnx"), "-p", pipeline, "-o", str(out)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "greedy / accuracy: score" in done.stderr and "onnx::Conv_89" in done.stderr
    document = json.loads(strategy.read_text())
    assert document["trials"] == 12 and len(document["edges"]) == 26  # 33 edges, 7 of them fused accumulators (not searched)
    written = [e["bits"] for e in document["edges"]]
    assert out.read_text().count("effective_bits") >= len(written)
    assert plot.read_text().startswith("<svg") and len(log.read_text().splitlines()) == 13
