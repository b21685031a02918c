#!/usr/bin/env python3
"""Record reference learning-rate trajectories from torch.optim.lr_scheduler for stoke-optim's
schedule tests (crates/stoke-optim/tests/schedules.rs).

Run by hand (CI never needs Python):

    pip install torch numpy
    python3 scripts/torch_schedules.py

Writes crates/stoke-optim/tests/fixtures/schedules.json:
- `one_cycle`: OneCycleLR (cos and linear, two and three phases, fractional phase ends, a peak
  above 1), the rate of every optimizer step 0..total_steps-1;
- `stepwise`: StepLR, ExponentialLR, CosineAnnealingLR and LinearLR-then-CosineAnnealingLR
  (SequentialLR), which stoke builds from Burn's schedulers, the rate of every step 0..steps-1;
- `plateau`: ReduceLROnPlateau over fixed metric sequences (mode min/max, factor, patience,
  threshold rel/abs, cooldown, min_lr, eps, negative metrics), the rate after each report.
A case's `config` uses stoke's field names; `torch` says what was run. Rates are Python floats
(float64), the same arithmetic width as stoke's f64 schedules.
"""

import json
import math
import pathlib

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "stoke-optim" / "tests" / "fixtures" / "schedules.json"


def optimizer(lr):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def one_cycle(name, max_lr, total_steps, **kw):
    opt = optimizer(max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total_steps, cycle_momentum=False, **kw)
    lrs = []
    for t in range(total_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if t + 1 < total_steps:
            sched.step()
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    config = {"max_lr": max_lr, "total_steps": total_steps, **kw}
    return {"name": name, "config": config,
            "torch": f"OneCycleLR(max_lr={max_lr}, total_steps={total_steps}, cycle_momentum=False"
                     + (f", {args})" if args else ")"),
            "lrs": lrs}


def one_cycle_cases():
    return [
        one_cycle("cos_two_phase_defaults", 0.1, 100),
        one_cycle("linear_two_phase_fractional_ends", 0.5, 37, pct_start=0.25,
                  anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
        one_cycle("cos_three_phase_peak_above_one", 2.0, 50, three_phase=True),
        one_cycle("linear_three_phase_fractional_ends", 0.01, 33, pct_start=0.4,
                  anneal_strategy="linear", div_factor=5.0, final_div_factor=1e3,
                  three_phase=True),
        one_cycle("cos_short_cycle", 0.3, 7, pct_start=0.5, div_factor=3.0),
    ]


def stepwise(name, lr, steps, config, torch_desc, make):
    opt = optimizer(lr)
    sched = make(opt)
    lrs = []
    for t in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"name": name, "lr": lr, "steps": steps, "config": config, "torch": torch_desc,
            "lrs": lrs}


def warmup_cosine(opt, warmup, steps, min_lr):
    S = torch.optim.lr_scheduler
    rise = S.LinearLR(opt, start_factor=1.0 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    decay = S.CosineAnnealingLR(opt, T_max=steps - warmup, eta_min=min_lr)
    return S.SequentialLR(opt, [rise, decay], milestones=[warmup])


def stepwise_cases():
    S = torch.optim.lr_scheduler
    return [
        stepwise("step", 0.3, 40, {"kind": "step", "step_size": 7, "gamma": 0.5},
                 "StepLR(step_size=7, gamma=0.5)", lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
        stepwise("exponential_lr_above_one", 2.0, 30, {"kind": "exponential", "gamma": 0.9},
                 "ExponentialLR(gamma=0.9)", lambda o: S.ExponentialLR(o, gamma=0.9)),
        stepwise("cosine", 0.1, 50, {"kind": "cosine", "min_lr": 0.001},
                 "CosineAnnealingLR(T_max=50, eta_min=0.001)",
                 lambda o: S.CosineAnnealingLR(o, T_max=50, eta_min=0.001)),
        stepwise("cosine_warmup_lr_above_one", 1.5, 60,
                 {"kind": "cosine", "warmup_steps": 10, "min_lr": 0.01},
                 "SequentialLR([LinearLR(start_factor=1/11, total_iters=10), "
                 "CosineAnnealingLR(T_max=50, eta_min=0.01)], milestones=[10])",
                 lambda o: warmup_cosine(o, 10, 60, 0.01)),
        stepwise("cosine_warmup_1", 0.05, 20, {"kind": "cosine", "warmup_steps": 1, "min_lr": 0.001},
                 "SequentialLR([LinearLR(start_factor=1/2, total_iters=1), "
                 "CosineAnnealingLR(T_max=19, eta_min=0.001)], milestones=[1])",
                 lambda o: warmup_cosine(o, 1, 20, 0.001)),
    ]


def plateau(name, lr, metrics, **kw):
    opt = optimizer(lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    lrs = []
    for m in metrics:
        opt.step()
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return {"name": name, "config": {"initial_lr": lr, **kw},
            "torch": f"ReduceLROnPlateau({args}) from lr={lr}",
            "metrics": metrics, "lrs": lrs}


# A loss that falls, stalls, improves by less than the thresholds, and falls again.
LOSS = [1.0, 0.8, 0.7, 0.69995, 0.7, 0.71, 0.65, 0.6499, 0.66, 0.66, 0.66, 0.64, 0.6, 0.6,
        0.61, 0.6, 0.62, 0.59999, 0.55, 0.55, 0.56, 0.57, 0.58, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
        0.49, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


def noisy(seed, n, sign):
    """A seeded noisy curve with long flat stretches (sign -1: falling loss, +1: rising score)."""
    rng = np.random.default_rng(seed)
    level, out = 1.0, []
    for t in range(n):
        if t % 12 < 5:
            level *= 1.0 + sign * 0.05
        out.append(float(level * (1.0 + 0.01 * rng.standard_normal())))
    return out


def plateau_cases():
    accuracy = [1.0 - x for x in LOSS]
    return [
        plateau("min_rel_patience_2", 0.1, LOSS, patience=2),
        plateau("min_abs_cooldown", 0.1, LOSS, mode="min", factor=0.5, patience=1,
                threshold=0.05, threshold_mode="abs", cooldown=2),
        plateau("max_rel_min_lr", 0.2, accuracy, mode="max", factor=0.3, patience=1,
                threshold=0.01, min_lr=1e-3),
        plateau("max_abs_patience_0", 0.05, accuracy, mode="max", factor=0.5, patience=0,
                threshold=0.02, threshold_mode="abs", cooldown=1),
        plateau("min_lr_floor_and_eps", 0.1, LOSS, factor=0.1, patience=0, min_lr=0.0095,
                eps=1e-8),
        plateau("eps_skips_small_cuts", 1e-6, LOSS, factor=0.5, patience=0, eps=4e-7),
        plateau("negative_metrics_rel", 0.1, [-x for x in accuracy], patience=1,
                threshold=0.01),
        plateau("noisy_min_defaults_patience_3", 0.3, noisy(7, 60, -1.0), patience=3),
        plateau("noisy_max_rel_cooldown", 0.3, noisy(8, 60, 1.0), mode="max", patience=2,
                cooldown=3, factor=0.5, threshold=1e-3),
    ]


def main():
    torch.set_default_dtype(torch.float64)
    doc = {"torch_version": torch.__version__, "one_cycle": one_cycle_cases(),
           "stepwise": stepwise_cases(), "plateau": plateau_cases()}
    for case in doc["one_cycle"] + doc["stepwise"] + doc["plateau"]:
        assert all(math.isfinite(x) and x > 0 for x in case["lrs"]), case["name"]
        assert len(set(case["lrs"])) > 1, f"{case['name']}: the rate hardly moves"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(doc['one_cycle'])} one-cycle, "
          f"{len(doc['stepwise'])} stepwise, {len(doc['plateau'])} plateau cases")


if __name__ == "__main__":
    main()
