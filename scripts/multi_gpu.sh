#!/usr/bin/env bash
# The prepared multi-GPU check (for a machine with two GPUs; CI runs the same comparison on two
# wgpu devices on lavapipe in tests/tests/training/devices.rs). Trains the same run on one GPU
# with batch 2b and on two GPUs with b each, through Burn's engine, then prints both runs'
# training loss per epoch, their relative difference (expected below 1e-4 without BatchNorm or
# dropout) and the throughput of each. Results go to ${OUT:-out/multi-gpu}/.
#
#   scripts/multi_gpu.sh                                   # wgpu:discrete:0 vs 0 + 1
#   DEVICES=wgpu:discrete:0,wgpu:discrete:1 scripts/multi_gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/multi-gpu}
devices=${DEVICES:-wgpu:discrete:0,wgpu:discrete:1}
first=${devices%%,*}
mkdir -p "$out"
cargo build --release -p stoke-cli --features wgpu
stoke=target/release/stoke
common=(--data langid --epochs 2 --patience 0 --batch-size 256 --embedding dense
        --optimizer sgd --lr 0.5 --l2 1e-5 --set model.batch_norm=false --set model.dropout=0
        --no-calibration --quiet)
$stoke train "${common[@]}" --devices "$first" --out "$out/one" --json | tee "$out/one.json"
$stoke train "${common[@]}" --devices "$devices" --out "$out/two" --json | tee "$out/two.json"
# metrics.csv is long: run,config,seed,epoch,iteration,split,metric,value
pick() { awk -F, -v m="$2" '$6 == "train" && $7 == m { print $4, $8 }' "$1/metrics.csv"; }
echo "epoch  train loss (1 device)  (2 devices)  relative   texts/s (1)  (2)"
join <(pick "$out/one" loss) <(pick "$out/two" loss) |
  join - <(pick "$out/one" examples_per_sec) | join - <(pick "$out/two" examples_per_sec) |
  awk '{ d = $2 - $3; if (d < 0) d = -d; printf "%5d  %20.6f  %11.6f  %9.1e  %11.0f  %5.0f\n", $1, $2, $3, d / $2, $4, $5 }'
