#!/usr/bin/env bash
# The benchmarks on a GPU through wgpu, as one prepared run (for a machine with a real GPU;
# CI never runs it). Writes JSON results to ${OUT:-out/bench-gpu}/ and prints them.
#
#   scripts/bench_gpu.sh            # build (release, wgpu + flex) and run
#
# On the GPU the optimizers run as tensor ops that Burn's fusion merges into one kernel per
# parameter; "floor_ms" in bench-optim.json is still the CPU's in-place loop (a reference, not
# the GPU's bound; the JSON says "floor_on_host": true and the table heads it "host flr"), and
# Burn's built-ins are measured on the same device.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/bench-gpu}
mkdir -p "$out"
cargo build --release -p stoke-cli --features wgpu
stoke=target/release/stoke
$stoke list | tail -1
$stoke bench optim --backend wgpu --params 10000000 --repeats 9 --json | tee "$out/bench-optim.json"
$stoke bench train --backend wgpu --data synthetic --iterations 300 --json | tee "$out/bench-train-synthetic.json"
$stoke bench train --backend wgpu --data langid --iterations 300 --json | tee "$out/bench-train-langid.json"
# The CPU side of the same machine, for the ratio.
$stoke bench optim --params 10000000 --repeats 9 --json | tee "$out/bench-optim-cpu.json"
