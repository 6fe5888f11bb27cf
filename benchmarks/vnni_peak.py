"""The `vpdpbusd` peak of this machine: how fast the VNNI conv kernels could go.

    .venv/bin/python benchmarks/vnni_peak.py [--seconds 1.0]

Compiles a loop of independent 512-bit `vpdpbusd` (ten accumulators, so their
latency is hidden; nothing else in the loop) with gcc, runs it on one core,
then one copy per core at once, and prints int8 multiply-adds per second:
64 per instruction (16 int32 lanes x 4 byte products). The kernels' rate
(benchmarks/vnni_conv_benchmark.py, docs/LATENCY.md) is measured against the
all-cores figure. Needs gcc and a CPU with avx512_vnni (/proc/cpuinfo).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from arguments import positive_float, run

SOURCE = r"""
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define STEP(a) a = _mm512_dpbusd_epi32(a, u, s);
int main(int argc, char **argv) {
  long rounds = atol(argv[1]);
  __m512i u = _mm512_set1_epi8(1), s = _mm512_set1_epi8(2);
  /* Distinct starting values, or the compiler folds the accumulators into one. */
  __m512i a0 = _mm512_set1_epi32(0), a1 = _mm512_set1_epi32(1), a2 = _mm512_set1_epi32(2),
          a3 = _mm512_set1_epi32(3), a4 = _mm512_set1_epi32(4), a5 = _mm512_set1_epi32(5),
          a6 = _mm512_set1_epi32(6), a7 = _mm512_set1_epi32(7), a8 = _mm512_set1_epi32(8),
          a9 = _mm512_set1_epi32(9);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long n = 0; n < rounds; n++) {
    STEP(a0) STEP(a1) STEP(a2) STEP(a3) STEP(a4) STEP(a5) STEP(a6) STEP(a7) STEP(a8) STEP(a9)
    __asm__ volatile("" : "+v"(u), "+v"(s)); /* the operands are not loop-invariant */
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
  __m512i sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)),
                                 _mm512_add_epi32(a8, a9)));
  printf("%.6f %d\n", seconds, _mm512_reduce_add_epi32(sum));
  return 0;
}
"""
INSTRUCTIONS_PER_ROUND = 10
MACS_PER_INSTRUCTION = 64


def compile_loop(directory: Path) -> Path:
    compiler = shutil.which("gcc")
    if compiler is None:
        raise SystemExit("vnni_peak: gcc is not installed")
    source, binary = directory / "peak.c", directory / "peak"
    source.write_text(SOURCE)
    subprocess.run([compiler, "-O2", "-mavx512f", "-mavx512bw", "-mavx512vnni", str(source), "-o", str(binary)],
                   check=True)
    assembly = subprocess.run([compiler, "-O2", "-mavx512f", "-mavx512bw", "-mavx512vnni", "-S", "-o", "-",
                               str(source)], check=True, capture_output=True, text=True).stdout
    if len(re.findall(r"\bvpdpbusd\b", assembly)) < INSTRUCTIONS_PER_ROUND:
        raise SystemExit("vnni_peak: the compiler merged the accumulators; the loop measures nothing")
    return binary


def rate(binary: Path, rounds: int, copies: int) -> float:
    """Multiply-adds per second of `copies` runs at once, in all."""
    processes = [subprocess.Popen([str(binary), str(rounds)], stdout=subprocess.PIPE, text=True)
                 for _ in range(copies)]
    seconds = [float(process.communicate()[0].split()[0]) for process in processes]
    return sum(rounds * INSTRUCTIONS_PER_ROUND * MACS_PER_INSTRUCTION / s for s in seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="about how long each run lasts")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from hago_ir.tvm_build import host_has_vnni, usable_cores

    if not host_has_vnni():
        print("vnni_peak: this CPU has no avx512_vnni (/proc/cpuinfo): nothing to measure")
        return 0
    with tempfile.TemporaryDirectory() as directory:
        binary = compile_loop(Path(directory))
        probe = 10_000_000
        probe_seconds = probe * INSTRUCTIONS_PER_ROUND * MACS_PER_INSTRUCTION / rate(binary, probe, 1)
        rounds = max(1, int(probe * args.seconds / probe_seconds))
        cores = usable_cores()
        one = max(rate(binary, rounds, 1) for _ in range(3))
        every = max(rate(binary, rounds, cores) for _ in range(3))
    print(f"vpdpbusd (512-bit) peak, best of 3 runs of about {args.seconds:g} s:")
    print(f"  one core: {one / 1e9:.0f} GMAC/s ({one / MACS_PER_INSTRUCTION / 1e9:.2f} G instructions/s)")
    print(f"  {cores} cores at once: {every / 1e9:.0f} GMAC/s")
    return 0


if __name__ == "__main__":
    run(main)
