#!/usr/bin/env python3
"""stoke against PyTorch at its best and fastText, like against like, in one run (issue 13).

Run by hand, never in CI. Every side runs in its own process, interleaved round by round
(stoke, PyTorch with stoke's allocator settings, PyTorch with glibc's defaults, stoke, …) at each
thread count, so all sides see the same machine state; each ratio is reported as min / median /
max over the rounds. Pairings, one row each:

* dense/OPT    stoke's dense embedding update against torch.optim, the best of its default,
               foreach=True and fused=True implementations in that round (every optimizer);
* sparse/OPT   stoke's row-sparse update against EmbeddingBag(sparse=True) with SGD, Adagrad
               and SparseAdam (table) + Adam (dense layers);
* lazy/OPT     stoke's lazy row-sparse Momentum, RMSProp, AdaDelta: no PyTorch counterpart,
               examples/s only;
* l2-dense/OPT L2 β Σ w² in the loss over every weight matrix, the whole embedding table
               included, every step, on both sides (stoke --embedding dense --l2 β, PyTorch's
               loss + β Σ w²): the same work;
* fasttext/DATA `stoke train` with a linear head on the mean-pooled embedding (model.n_hidden=0)
               against the fasttext package, same split, dimension, buckets, n-grams and
               epochs: training examples/s per thread and test accuracy. stoke's side trains
               as fastText does, with SGD and a decaying rate (cosine to 0; fastText's is
               linear), at the rate chosen on each task's validation split (STOKE_FASTTEXT).

The PyTorch side runs once with MALLOC_MMAP_THRESHOLD_=32 MiB and MALLOC_TRIM_THRESHOLD_=1 GiB
in its environment (what the stoke binary sets itself with mallopt, crates/stoke-cli/src/alloc.rs)
and once without; ratios are given against both.

    cargo build --workspace --all-features --bin stoke     # the dev profile optimises the hot crates
    python3 scripts/bench_compare.py run --stoke $CARGO_TARGET_DIR/debug/stoke \\
        --rounds 3 --threads 1,2 --out docs/bench_compare.json
    python3 scripts/bench_compare.py optim --stoke $CARGO_TARGET_DIR/debug/stoke --runs 5 \
        --out docs/bench_optim.json                           # repeated `stoke bench optim`
    python3 scripts/bench_compare.py table docs/bench_compare.json --into docs/performance.md
    python3 scripts/bench_compare.py table docs/bench_optim.json --into docs/performance.md
"""
import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH = os.path.join(HERE, "bench_torch_textclf.py")
# stoke_cli::alloc::tune_allocator: M_MMAP_THRESHOLD 32 MiB, M_TRIM_THRESHOLD 1 GiB
TUNED = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
ALLOCATORS = {"tuned": TUNED, "glibc": {}}
ALL = ["sgd", "momentum", "rmsprop", "adagrad", "adam", "adadelta"]
PAIRED_SPARSE = ["sgd", "adagrad", "adam"]
LAZY = ["momentum", "rmsprop", "adadelta"]
L2_OPTS = ["adagrad", "adam"]
PYTORCH = {"dense": ALL, "sparse": PAIRED_SPARSE}


def env_with(extra, threads):
    env = {k: v for k, v in os.environ.items() if k not in TUNED}
    env.update(extra)
    env["OMP_NUM_THREADS"] = str(threads)
    env["RAYON_NUM_THREADS"] = str(threads)
    return env


def json_lines(cmd, env):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    print(f"  {time.perf_counter() - t0:5.0f} s  {' '.join(cmd[:6])} …", file=sys.stderr)
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def stoke_bench(a, threads, embedding, optimizers, iterations, warmup, l2=0.0):
    cmd = [a.stoke, "bench", "train", "--data", "synthetic", "--embedding", embedding,
           "--threads", str(threads), "--iterations", str(iterations), "--warmup", str(warmup),
           "--l2", str(l2), "--json"]
    for o in optimizers:
        cmd += ["--optimizer", o]
    (report,) = json_lines(cmd, env_with({}, threads))
    return {base_name(r["optimizer"]): {"examples_per_s": r["examples_per_s"],
                                        "peak_rss_mib": r["peak_rss_mib"],
                                        "working_set_mib": r["working_set_mib"]}
            for r in report["results"]}


def base_name(label):
    return label.split("(")[0].lower()


def torch_bench(a, threads, embedding, optimizers, iterations, warmup, allocator, l2=0.0):
    """examples/s per optimizer and variant; `optimizers` are names (every variant, dense) or
    NAME:VARIANT."""
    cmd = [sys.executable, TORCH, "--threads", str(threads), "--embedding", embedding,
           "--iterations", str(iterations), "--warmup", str(warmup), "--l2", str(l2)]
    for o in optimizers:
        cmd += ["--optimizer", o]
    for v in (["default", "foreach", "fused"] if embedding == "dense" else ["default"]):
        cmd += ["--variant", v]
    rows = json_lines(cmd, env_with(ALLOCATORS[allocator], threads))
    out = {}
    for r in rows:
        if "skipped" in r:
            continue
        out.setdefault(r["optimizer"], {})[r["variant"]] = r["examples_per_s"]
    return out


# ---------------------------------------------------------------- fastText pairing


def synthetic_task(path, texts, tokens, bucket_bits, classes, seed=1):
    """AG-News-sized texts a linear model can learn: each of `tokens` words is, with
    probability 0.05, one of its class's 1,000 topic words, else uniform over 2^bucket_bits."""
    rng = random.Random(seed)
    vocab = 1 << bucket_bits
    topics = [[rng.randrange(vocab) for _ in range(1000)] for _ in range(classes)]
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(texts):
            c = rng.randrange(classes)
            words = [f"w{rng.choice(topics[c]) if rng.random() < 0.05 else rng.randrange(vocab)}"
                     for _ in range(tokens)]
            f.write(json.dumps({"text": " ".join(words), "label": f"c{c}"}) + "\n")


# stoke's optimizer flags in the fastText pairing, per task: SGD with a cosine decay, the rate
# chosen on the validation split (seed 1, 5 epochs, at ee1b01b; the last epoch's valid accuracy
# record in OUT/result.json of run_stoke_train's `stoke train` command with these flags):
#   synthetic  η 2.5 / 3 / 4 / 5 / 8  → 0.8257 / 0.8308 / 0.8233 / 0.8163 / 0.7817
#              (constant η 3: 0.8121; batch 8 / 16 / 64 at η 2 and 5: 0.7846 / 0.7520,
#              0.8223 / 0.7698, 0.3608 / 0.8258; Adam at stoke train's default η: 0.777 test)
#   langid     η 3 / 10 / 30 / 100    → 0.8203 / 0.9440 / 0.9649 / 0.9617
STOKE_FASTTEXT = {
    "synthetic": ["--optimizer", "sgd", "--lr", "3", "--schedule", "cosine"],
    "langid": ["--optimizer", "sgd", "--lr", "30", "--schedule", "cosine"],
}


def fasttext_tasks(a, tmp):
    """(name, stoke --data, columns, tokenizer --set, fastText kwargs, parts dir) per data set."""
    tasks = []
    if "synthetic" in a.fasttext_data:
        path = os.path.join(tmp, "synthetic.jsonl")
        synthetic_task(path, a.ft_texts, 40, 18, 4)
        # fastText's split on both sides: each word a row of its own, n-grams hashed into 2^18
        tok = ["tokenizer.char_min_n=0", "tokenizer.char_max_n=0",
               'tokenizer.features={ kind = "words_and_hashing", min_count = 1, '
               'max_words = 1048576, buckets = 262144 }']
        ft = dict(dim=a.ft_dim, bucket=1 << 18, wordNgrams=2, minn=0, maxn=0)
        tasks.append(("synthetic", path, ["--text-col", "text", "--label-col", "label"], tok, ft))
    if "langid" in a.fasttext_data:
        # stoke's default tokenizer (word 1-2 grams + char 2-5 grams) with fastText's split:
        # words a row each, n-grams hashed into fastText's 2^17 buckets (`stoke train` hashes
        # everything into 2^20 by default)
        tok = ['tokenizer.features={ kind = "words_and_hashing", min_count = 1, '
               'max_words = 1048576, buckets = 131072 }']
        ft = dict(dim=a.ft_dim, bucket=1 << 17, wordNgrams=2, minn=2, maxn=5)
        tasks.append(("langid", "langid", [], tok, ft))
    out = []
    for name, data, cols, tok, ft in tasks:
        parts = os.path.join(tmp, name)
        subprocess.run([a.stoke, "split", "--data", data, *cols, "--out", parts], check=True,
                       stdout=subprocess.DEVNULL)
        out.append((name, data, cols, tok, ft, parts))
    return out


def read_jsonl(path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def run_fasttext(task, a, threads):
    import fasttext

    name, _, _, _, ft, parts = task
    train, test = (read_jsonl(os.path.join(parts, f"{p}.jsonl")) for p in ("train", "test"))
    # fastText reads its file in order and never shuffles; `stoke split` writes the rows in the
    # data set's order (langid's: sorted by language), so they are shuffled once, seeded, as
    # stoke's loader shuffles each epoch
    rows = list(zip(*train))
    random.Random(1).shuffle(rows)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for t, l in rows:
            f.write(f"__label__{l.replace(' ', '_')} {' '.join(t.split())}\n")
        path = f.name
    t0 = time.perf_counter()
    model = fasttext.train_supervised(input=path, epoch=a.ft_epochs, lr=a.ft_lr, thread=threads,
                                      minCount=1, verbose=0, **ft)
    seconds = time.perf_counter() - t0
    os.unlink(path)
    right = 0
    for t, l in zip(*test):
        # the binding's own call: fastText's Python wrapper breaks on NumPy 2 (copy=False)
        top = model.f.predict(" ".join(t.split()), 1, 0.0, "strict")
        right += bool(top) and top[0][1] == "__label__" + l.replace(" ", "_")
    n = a.ft_epochs * len(train[0])
    return {"examples_per_s_per_thread": n / seconds / threads, "seconds": seconds,
            "test_accuracy": right / len(test[0])}


def run_stoke_train(task, a, threads):
    name, data, cols, tok, _, _ = task
    with tempfile.TemporaryDirectory() as out:
        if a.stoke_optimizer is None:
            optimizer = STOKE_FASTTEXT[name]
        else:
            lr = [] if a.stoke_lr is None else ["--lr", str(a.stoke_lr)]
            optimizer = ["--optimizer", a.stoke_optimizer, *lr]
        cmd = [a.stoke, "train", "--data", data, *cols, *optimizer,
               "--epochs", str(a.ft_epochs), "--patience", "0",
               "--embedding", "sparse", "--set", "model.n_hidden=0",
               "--set", f"model.embed_dim={a.ft_dim}", "--no-calibration", "--quiet", "--json",
               "--out", out]
        for s in tok:
            cmd += ["--set", s]
        summary = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                            env=env_with({}, threads)).stdout)
        result = json.load(open(os.path.join(out, "result.json")))
    rates = [r["value"] for r in result["records"]
             if r["metric"] == "examples_per_sec" and r["split"] == "train"]
    if not rates:
        raise SystemExit(f"no examples_per_sec records in {name}'s result.json")
    return {"examples_per_s_per_thread": statistics.mean(rates) / threads,
            "test_accuracy": summary["test_accuracy"], "flags": " ".join(optimizer)}


# ---------------------------------------------------------------- the run


def paired(a, r, threads, name, embedding, optimizers, iterations, warmup, l2=0.0):
    """stoke, then PyTorch with stoke's allocator settings (every variant), then PyTorch with
    glibc's defaults (the variant fastest under the first, so the two settings compare the same
    implementation), into r[stoke_NAME], r[torch_NAME_tuned], r[torch_NAME_glibc]."""
    r[f"stoke_{name}"] = stoke_bench(a, threads, embedding, optimizers, iterations, warmup, l2)
    tuned = torch_bench(a, threads, embedding, [o for o in optimizers if o in PYTORCH[embedding]],
                        iterations, warmup, "tuned", l2)
    r[f"torch_{name}_tuned"] = tuned
    fastest = [f"{o}:{best(v)[1]}" for o, v in tuned.items() if v]
    r[f"torch_{name}_glibc"] = torch_bench(a, threads, embedding, fastest, iterations, warmup,
                                           "glibc", l2) if fastest else {}


def one_round(a, threads, tasks):
    r = {"threads": threads}
    if "dense" in a.sections:
        paired(a, r, threads, "dense", "dense", ALL, a.dense_iterations, a.dense_warmup)
    if "sparse" in a.sections:
        paired(a, r, threads, "sparse", "sparse", ALL, a.sparse_iterations, a.sparse_warmup)
    if "l2" in a.sections:
        paired(a, r, threads, "l2_dense", "dense", L2_OPTS, a.dense_iterations, a.dense_warmup,
               a.l2)
    if "fasttext" in a.sections:
        for task in tasks:
            r[f"stoke_linear_{task[0]}"] = run_stoke_train(task, a, threads)
            r[f"fasttext_{task[0]}"] = run_fasttext(task, a, threads)
    return r


def machine():
    def first(path, key):
        try:
            return next(l.split(":", 1)[1].strip() for l in open(path) if l.startswith(key))
        except (OSError, StopIteration):
            return None

    import torch

    return {"cpu": first("/proc/cpuinfo", "model name"), "cores": os.cpu_count(),
            "memory": first("/proc/meminfo", "MemTotal"), "kernel": platform.release(),
            "libc": " ".join(platform.libc_ver()), "torch": torch.__version__,
            "shared": load_note()}


def load_note():
    """What else ran: the 1-minute load average when the run began (this run adds about 1)."""
    one = os.getloadavg()[0]
    return (f"load average {one:.1f} at the start: " +
            ("idle apart from this run" if one < 2.0 else
             "a shared machine, other builds and tests ran at the same time"))


def run(a):
    a.sections = a.sections.split(",")
    a.fasttext_data = a.fasttext_data.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    doc = {"command": " ".join(sys.argv), "machine": machine(),
           "settings": {k: v for k, v in vars(a).items() if k not in ("func", "stoke")},
           "allocators": {"tuned": TUNED, "glibc": "glibc defaults (dynamic mmap threshold)"},
           "rounds": []}
    if a.append and os.path.exists(a.out):
        old = json.load(open(a.out))
        old.setdefault("appended", []).append(doc["command"])
        doc = old
    with tempfile.TemporaryDirectory() as tmp:
        tasks = fasttext_tasks(a, tmp) if "fasttext" in a.sections else []
        for i in range(a.rounds):
            for t in threads:
                t0 = time.perf_counter()
                r = one_round(a, t, tasks)
                r["round"] = 1 + max((q["round"] for q in doc["rounds"] if q["threads"] == t),
                                     default=0)
                doc["rounds"].append(r)
                print(f"round {i + 1}, {t} thread(s): {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr)
                write_json(doc, a.out)
    print_tables(doc)


# ---------------------------------------------------------------- tables from JSON


def spread(xs):
    return (min(xs), statistics.median(xs), max(xs)) if xs else None


def fmt_ratio(s):
    return "—" if s is None else f"{s[1]:.2f}× ({s[0]:.2f}–{s[2]:.2f})"


def fmt_rate(s):
    return "—" if s is None else f"{s[1]:,.0f}"


def best(torch_row):
    """(examples/s, variant) of the fastest variant, or None."""
    if not torch_row:
        return None
    v = max(torch_row, key=torch_row.get)
    return torch_row[v], v


def paired_rows(rounds, threads, stoke_key, torch_key, optimizers):
    rows = []
    for o in optimizers:
        st, tt, tg, ratio_t, ratio_g, variants = [], [], [], [], [], []
        for r in rounds:
            if r["threads"] != threads or stoke_key not in r or o not in r[stoke_key]:
                continue
            s = r[stoke_key][o]["examples_per_s"]
            st.append(s)
            bt = best(r.get(f"{torch_key}_tuned", {}).get(o))
            bg = best(r.get(f"{torch_key}_glibc", {}).get(o))
            if bt:
                tt.append(bt[0]), ratio_t.append(s / bt[0]), variants.append(bt[1])
            if bg:
                tg.append(bg[0]), ratio_g.append(s / bg[0])
        if st:
            chosen = "/".join(sorted(set(variants))) or "—"
            rows.append((o, spread(st), spread(tt), chosen, spread(ratio_t), spread(tg),
                         spread(ratio_g)))
    return rows


def print_tables(doc):
    rounds = doc["rounds"]
    threads = sorted({r["threads"] for r in rounds})
    counts = ", ".join(f"{sum(r['threads'] == t for r in rounds)} at {t} thread(s)"
                       for t in threads)
    print(f"Interleaved rounds: {counts}; rates are medians, ratios median (min–max) over "
          f"rounds; {doc['machine']['shared']}.\n")
    sections = [("dense vs dense", "stoke_dense", "torch_dense", ALL),
                ("sparse vs sparse (PyTorch: SGD, Adagrad, SparseAdam + Adam)", "stoke_sparse",
                 "torch_sparse", PAIRED_SPARSE),
                (f"L2 β = {doc['settings'].get('l2')} in the loss, whole table every step on both "
                 "sides (dense vs dense)", "stoke_l2_dense", "torch_l2_dense", L2_OPTS)]
    for t in threads:
        for title, sk, tk, opts in sections:
            rows = paired_rows(rounds, t, sk, tk, opts)
            if not rows:
                continue
            print(f"**{title}, {t} thread(s)**, examples/s:\n")
            print("| optimizer | stoke | PyTorch best, tuned malloc | variant | stoke/PyTorch "
                  "| PyTorch, glibc malloc | stoke/PyTorch |")
            print("|---|---|---|---|---|---|---|")
            for o, st, tt, v, rt, tg, rg in rows:
                print(f"| {o} | {fmt_rate(st)} | {fmt_rate(tt)} | {v} | {fmt_ratio(rt)} | "
                      f"{fmt_rate(tg)} | {fmt_ratio(rg)} |")
            print()
        mem = [(k, o, [r[k][o] for r in rounds if r["threads"] == t and o in r.get(k, {})])
               for k in ("stoke_dense", "stoke_sparse") for o in ALL]
        mem = [(k, o, xs) for k, o, xs in mem if xs]
        if mem:
            print(f"**stoke's memory, {t} thread(s)**: peak resident MiB (median over rounds) / "
                  "what the path must hold (parameters, optimizer state, one batch, and the "
                  "gradients it allocates):\n")
            print("| optimizer | dense: peak / needed | sparse: peak / needed |")
            print("|---|---|---|")
            for o in ALL:
                cells = []
                for k in ("stoke_dense", "stoke_sparse"):
                    xs = next((xs for k2, o2, xs in mem if (k2, o2) == (k, o)), None)
                    cells.append("—" if not xs else
                                 f"{statistics.median(x['peak_rss_mib'] for x in xs):.0f} / "
                                 f"{statistics.median(x['working_set_mib'] for x in xs):.0f}")
                print(f"| {o} | {cells[0]} | {cells[1]} |")
            print()
        lazy = [(o, spread([r["stoke_sparse"][o]["examples_per_s"] for r in rounds
                            if r["threads"] == t and o in r.get("stoke_sparse", {})]))
                for o in LAZY]
        lazy = [(o, s) for o, s in lazy if s]
        if lazy:
            print(f"**stoke's lazy row-sparse updates (no PyTorch counterpart), {t} thread(s)**:"
                  " " + ", ".join(f"{o} {fmt_rate(s)}" for o, s in lazy) + " examples/s\n")
        ft_rows = []
        for data in ("synthetic", "langid"):
            sk, fk = f"stoke_linear_{data}", f"fasttext_{data}"
            rs = [r for r in rounds if r["threads"] == t and sk in r and fk in r]
            if not rs:
                continue
            s = [r[sk]["examples_per_s_per_thread"] for r in rs]
            f = [r[fk]["examples_per_s_per_thread"] for r in rs]
            acc = lambda k: statistics.median(r[k]["test_accuracy"] for r in rs)
            flags = rs[0][sk].get("flags", "stoke train's default optimizer and rate")
            ft_rows.append((f"{data} (`{flags}`)", spread(s), spread(f),
                            spread([x / y for x, y in zip(s, f)]), acc(sk), acc(fk)))
        if ft_rows:
            print(f"**stoke linear (n_hidden 0) vs fastText, {t} thread(s)**:\n")
            print("| data | stoke examples/s/thread | fastText examples/s/thread | stoke/fastText "
                  "| stoke test accuracy | fastText test accuracy |")
            print("|---|---|---|---|---|---|")
            for d, s, f, ratio, sa, fa in ft_rows:
                print(f"| {d} | {fmt_rate(s)} | {fmt_rate(f)} | {fmt_ratio(ratio)} | {sa:.4f} | "
                      f"{fa:.4f} |")
            print()


def optim_runs(a):
    """`stoke bench optim --json` `--runs` times per thread count, one after the other."""
    doc = {"command": " ".join(sys.argv), "machine": machine(), "runs": []}
    for i in range(a.runs):
        for t in [int(t) for t in a.threads.split(",")]:
            (report,) = json_lines([a.stoke, "bench", "optim", "--threads", str(t), "--params",
                                    str(a.params), "--json"], env_with({}, t))
            report["run"] = i + 1
            doc["runs"].append(report)
            write_json(doc, a.out)
    print_optim(doc)


def print_optim(doc):
    """Per variant and thread count: stoke/floor in each run, the median ms, and how many runs
    were within 1.15× of the floor."""
    runs = doc["runs"]
    for t in sorted({r["threads"] for r in runs}):
        rs = [r for r in runs if r["threads"] == t]
        host = any(r.get("floor_on_host") for r in rs)
        print(f"**`stoke bench optim`, {rs[0]['params']:,} parameters, {t} thread(s), {len(rs)} "
              f"runs{' (floor: the host CPU loop)' if host else ''}**, median ms per step:\n")
        print("| optimizer | variant | B/p | floor | stoke | ops | burn | stoke/floor per run "
              "| runs ≤ 1.15× | burn/stoke |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        keys = [(x["optimizer"], x["variant"]) for x in rs[0]["results"]]
        for o, v in keys:
            xs = [x for r in rs for x in r["results"] if (x["optimizer"], x["variant"]) == (o, v)]
            med = lambda k: statistics.median(x[k] for x in xs)
            ratios = [x["stoke_ms"] / x["floor_ms"] for x in xs]
            burn = [x["burn_ms"] for x in xs if x.get("burn_ms")]
            b = f"{statistics.median(burn):.2f}" if burn else "—"
            br = f"{statistics.median(burn) / med('stoke_ms'):.1f}×" if burn else "—"
            within = sum(q <= 1.15 for q in ratios)
            print(f"| {o} | {v} | {xs[0]['bytes_per_param']} | {med('floor_ms'):.2f} | "
                  f"{med('stoke_ms'):.2f} | {med('tensor_ops_ms'):.2f} | {b} | "
                  f"{' '.join(f'{q:.2f}' for q in ratios)} | {within}/{len(ratios)} | {br} |")
        print()


def write_json(doc, path):
    tmp_out = path + ".tmp"
    with open(tmp_out, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp_out, path)


BEGIN, END = "<!-- generated by scripts/bench_compare.py: begin {} -->", "<!-- end {} -->"


def table(a):
    """Prints the tables of a JSON file, or with --into replaces the block between its markers
    in a markdown file (atomically), so the tables there are never typed."""
    import contextlib
    import io

    doc = json.load(open(a.json))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        (print_optim if "runs" in doc else print_tables)(doc)
    body = buf.getvalue().rstrip() + "\n"
    if not a.into:
        print(body, end="")
        return
    name = os.path.basename(a.json)
    begin, end = BEGIN.format(name), END.format(name)
    text = open(a.into, encoding="utf-8").read()
    if begin not in text or end not in text:
        raise SystemExit(f"{a.into}: no '{begin}' … '{end}' block to fill")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    write_text(a.into, f"{head}{begin}\n{body}{end}{tail}")


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--stoke", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "stoke"))
    r.add_argument("--out", default="docs/bench_compare.json")
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--append", action="store_true",
                   help="add the rounds to those already in --out")
    r.add_argument("--threads", default="1,2")
    r.add_argument("--sections", default="dense,sparse,l2,fasttext")
    r.add_argument("--dense-iterations", type=int, default=20)
    r.add_argument("--dense-warmup", type=int, default=3)
    r.add_argument("--sparse-iterations", type=int, default=300)
    r.add_argument("--sparse-warmup", type=int, default=10)
    r.add_argument("--l2", type=float, default=1e-5)
    r.add_argument("--fasttext-data", default="synthetic,langid")
    r.add_argument("--ft-texts", type=int, default=120_000)
    r.add_argument("--ft-dim", type=int, default=64)
    r.add_argument("--ft-epochs", type=int, default=5)
    r.add_argument("--ft-lr", type=float, default=0.1,
                   help="fastText's (default: its own; on langid it underfits at 5 epochs: "
                        "test accuracy 0.16, against 0.96 at --ft-lr 1)")
    r.add_argument("--stoke-optimizer", default=None,
                   help="stoke train's in the fastText pairing (default: STOKE_FASTTEXT's "
                        "validation-chosen SGD + cosine per task)")
    r.add_argument("--stoke-lr", type=float, default=None,
                   help="with --stoke-optimizer (default: none passed, stoke train's own)")
    r.set_defaults(func=run)
    o = sub.add_parser("optim", help="repeated `stoke bench optim` runs")
    o.add_argument("--stoke", default=r.get_default("stoke"))
    o.add_argument("--out", default="docs/bench_optim.json")
    o.add_argument("--runs", type=int, default=5)
    o.add_argument("--threads", default="1,2")
    o.add_argument("--params", type=int, default=10_000_000)
    o.set_defaults(func=optim_runs)
    t = sub.add_parser("table")
    t.add_argument("json")
    t.add_argument("--into", help="a markdown file whose marked block gets the tables")
    t.set_defaults(func=table)
    a = p.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
