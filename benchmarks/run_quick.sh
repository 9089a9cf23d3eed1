#!/usr/bin/env bash
# Runs every benchmark in --quick mode (each < 90 s) and prints their RESULT lines.
# CI runs the same through pytest: tests/hf/test_benchmarks_quick.py.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in sampler_vs_hf train_vs_torch packing_and_prefill estep_workload; do
  python "benchmarks/${b}.py" --quick | tail -n 1
done
