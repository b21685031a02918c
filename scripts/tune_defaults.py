#!/usr/bin/env python3
"""How `stoke train`'s defaults were chosen (issue 14), run by hand: validation accuracy only.

Each candidate is a set of `stoke train` flags laid over the current defaults. For every
tuning data set, candidate and seed, `stoke train` runs on the file (its own fixed 80/10/10
split) and the validation accuracy of the kept epoch is recorded; the test accuracy that
`stoke train --json` also prints is dropped unread. `table` renders the JSON: mean validation
accuracy over the seeds per data set, and each candidate's mean gap to the best candidate of
each data set. The held-out data set (data/names) is never run here.

    python3 scripts/tune_defaults.py run --stoke target/debug/stoke --out docs/defaults.json \
        --seeds 1,2,3 sentiment-uci spam-assassin data/sotu/passages.tsv.gz
    python3 scripts/tune_defaults.py table docs/defaults.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from baselines import name_of

# Pieces the candidates below combine.
WORDS_ONLY = ["--set", "tokenizer.char_min_n=0", "--set", "tokenizer.char_max_n=0"]
BUCKETS_2_20 = ["--set", 'tokenizer.features={ kind = "hashing", buckets = 1048576 }']
LR_0005 = ["--lr", "0.0005"]
# The pooling, both keys given: `stoke train` otherwise picks it from the texts' length.
ONE_BAG = ["--set", "model.bags=one"]
RAW_TF = ["--set", "model.tf=raw"]
SUBLINEAR = ["--set", "model.tf=sublinear"]
SPLIT_BAGS = ["--set", "model.bags=split"]
# The defaults until 2^20 buckets at η 0.0005 replaced them: the candidates named without
# "defaults" change these (and were measured against them).
BEFORE = ["--set", 'tokenizer.features={ kind = "hashing", buckets = 131072 }', "--lr", "0.002"]

CANDIDATES = {
    # Measured before the pooling followed the texts' length, when one raw bag was the default.
    "defaults (2^20 buckets at lr 0.0005)": ONE_BAG + RAW_TF,
    "defaults + sublinear tf": ONE_BAG + SUBLINEAR,
    "defaults + split bags": SPLIT_BAGS + RAW_TF,
    "defaults + split bags + sublinear tf": SPLIT_BAGS + SUBLINEAR,
    "defaults before (2^17 buckets at lr 0.002)": BEFORE + ONE_BAG + RAW_TF,
    "defaults (pooling by text length)": [],
    "split bags + sublinear tf + char n 2-4": SPLIT_BAGS + SUBLINEAR + ["--set", "tokenizer.char_max_n=4"],
    "split bags + sublinear tf + lr 0.001": SPLIT_BAGS + SUBLINEAR + ["--lr", "0.001"],
    "split bags + sublinear tf + dropout 0.5": SPLIT_BAGS + SUBLINEAR + ["--set", "model.dropout=0.5"],
    **{name: BEFORE + ONE_BAG + RAW_TF + flags for name, flags in {
        "dropout 0.5": ["--set", "model.dropout=0.5"],
        "lr 0.001": ["--lr", "0.001"],
        "lr 0.005": ["--lr", "0.005"],
        "l2 1e-4": ["--l2", "1e-4"],
        "embed 128": ["--set", "model.embed_dim=128"],
        "linear (n_hidden 0)": ["--set", "model.n_hidden=0"],
        "batch 64": ["--batch-size", "64"],
        "monitor valid-accuracy": ["--monitor", "valid-accuracy"],
        "monitor valid-loss": ["--monitor", "valid-loss"],
        "char n 2-4": ["--set", "tokenizer.char_max_n=4"],
        "char n 3-5": ["--set", "tokenizer.char_min_n=3"],
        "word n-grams only": WORDS_ONLY,
        "word n-grams only + 2^20 buckets": WORDS_ONLY + BUCKETS_2_20,
        "word n-grams only + lr 0.0005": WORDS_ONLY + LR_0005,
        "word n-grams only + 2^20 buckets + lr 0.0005": WORDS_ONLY + BUCKETS_2_20 + LR_0005,
        "2^20 buckets": BUCKETS_2_20,
    }.items()},
}


def run(args):
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    chosen = args.candidates.split(",") if args.candidates else list(CANDIDATES)
    for data in args.data:
        row = results.setdefault(name_of(data), {})
        for cand in chosen:
            for seed in args.seeds:
                key = f"{cand}|{seed}"
                if key in row:
                    continue
                with tempfile.TemporaryDirectory() as out:
                    t0 = time.perf_counter()
                    res = subprocess.run(
                        [args.stoke, "train", "--data", data, *args.columns, *CANDIDATES[cand],
                         "--seed", str(seed), "--json", "--quiet", "--out", out],
                        check=True, capture_output=True, text=True)
                    seconds = time.perf_counter() - t0
                r = json.loads(res.stdout)
                row[key] = {"valid_accuracy": r["valid_accuracy"], "kept_epoch": r["kept_epoch"],
                            "epochs": r["epochs"], "valid_ece": r["valid_ece"],
                            "seconds": seconds}
                print(f"{name_of(data)} {key}: {row[key]}", file=sys.stderr)
                tmp = args.out + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(results, f, indent=1)
                os.replace(tmp, args.out)


def table(args):
    results = {k: v for k, v in json.load(open(args.json)).items() if not k.startswith("_")}
    means = {}
    for data, row in results.items():
        by = {}
        for key, r in row.items():
            by.setdefault(key.split("|")[0], []).append(r["valid_accuracy"])
        means[data] = {c: sum(v) / len(v) for c, v in by.items()}
    cands = [c for c in CANDIDATES if any(c in m for m in means.values())]
    print("| candidate | " + " | ".join(means) + " | mean gap to the best |")
    print("|---|" + "---|" * (len(means) + 1))
    for c in cands:
        cells, gaps = [], []
        for m in means.values():
            if c in m:
                cells.append(f"{m[c]:.4f}")
                gaps.append(max(m.values()) - m[c])
            else:
                cells.append("—")
        gap = f"{100 * sum(gaps) / len(gaps):.2f} pt" if len(gaps) == len(means) else "—"
        print(f"| {c} | " + " | ".join(cells) + f" | {gap} |")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("data", nargs="+")
    r.add_argument("--stoke", default="target/debug/stoke")
    r.add_argument("--out", default="docs/defaults.json")
    r.add_argument("--seeds", type=lambda v: [int(s) for s in v.split(",")], default=[1, 2, 3])
    r.add_argument("--candidates", help="comma-separated names (default: all)")
    r.add_argument("--columns", nargs="*", default=["--text-col", "text", "--label-col", "label"])
    t = sub.add_parser("table")
    t.add_argument("json")
    a = p.parse_args()
    run(a) if a.cmd == "run" else table(a)


if __name__ == "__main__":
    main()
