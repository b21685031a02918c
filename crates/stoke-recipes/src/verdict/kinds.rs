//! The checks of each recipe kind's claim (see [`super`]).

use super::*;

/// Every optimizer below SGD's training loss at every epoch after the first.
pub(super) fn optimizers(all: &[Config]) -> Option<Verdict> {
    let sgd = all.iter().find(|c| c.settings.optimizer.name() == "sgd")?;
    let base = sgd.epoch_means(Split::Train, Metric::Loss);
    let mut checks = Checks::new("optimizers");
    for c in all.iter().filter(|c| !std::ptr::eq(*c, sgd)) {
        let mine = c.epoch_means(Split::Train, Metric::Loss);
        let later: Vec<(&usize, &f64)> = base.iter().filter(|(e, _)| **e > 1).collect();
        let below = later
            .iter()
            .filter(|(e, b)| mine.get(e).is_some_and(|m| m < b))
            .count();
        let (won, n) = wins(c, sgd, Split::Train, Metric::Loss, true);
        checks.push(
            below == later.len() && !later.is_empty() && c.diverged() == 0,
            format!(
                "{} below SGD's train loss at {below} of {} epochs after the first \
                 (final {} vs {}; lower on {won} of {n} seeds)",
                c.label,
                later.len(),
                show(c.mean_last(Split::Train, Metric::Loss)),
                show(sgd.mean_last(Split::Train, Metric::Loss)),
            ),
        );
    }
    checks.verdict()
}

/// By η: the smallest trains slowest, the next converges best, the second largest oscillates
/// (its validation loss rises in some epoch), the largest diverges.
pub(super) fn learning_rate(sorted: &[&Config]) -> Option<Verdict> {
    if sorted.len() < 3 {
        return None;
    }
    let (small, top) = (sorted[0], sorted[sorted.len() - 1]);
    let wobbly = sorted[sorted.len() - 2];
    let loss = |c: &Config| c.mean_last(Split::Train, Metric::Loss);
    let mut checks = Checks::new("parts of the claim");
    let finished: Vec<&&Config> = sorted[1..sorted.len() - 1]
        .iter()
        .filter(|c| loss(c).is_some())
        .collect();
    let slowest = finished
        .iter()
        .all(|c| loss(small).zip(loss(c)).is_some_and(|(s, o)| s > o));
    checks.push(
        slowest && !finished.is_empty(),
        format!(
            "{} ends highest among the finished rates (train loss {})",
            small.label,
            show(loss(small))
        ),
    );
    for good in &sorted[1..sorted.len() - 2] {
        let best = finished.iter().all(|c| {
            std::ptr::eq(**c, *good) || loss(good).zip(loss(c)).is_some_and(|(g, o)| g <= o)
        });
        checks.push(
            best && loss(good).is_some(),
            format!(
                "{} ends lowest (train loss {})",
                good.label,
                show(loss(good))
            ),
        );
    }
    let rose = wobbly.runs_whose_valid_loss(|v| v.windows(2).any(|w| w[1] > w[0]));
    checks.push(
        rose == wobbly.runs.len(),
        format!(
            "{} oscillates: its validation loss rose between epochs on {rose} of {} seeds",
            wobbly.label,
            wobbly.runs.len()
        ),
    );
    diverges(&mut checks, top);
    checks.verdict()
}

/// Batch 1 ends with the lowest training loss after the same epochs; a mini-batch makes the
/// most progress per second, `(L₀ − L)/T` with `L₀` the untrained validation loss.
pub(super) fn batch_size(all: &[Config]) -> Option<Verdict> {
    let one = all
        .iter()
        .find(|c| c.settings.batch_size == BatchSize::Size(1))?;
    let loss = |c: &Config| c.mean_last(Split::Train, Metric::Loss);
    let rate = |c: &Config| {
        let start = c.start_loss()?;
        Some((start - loss(c)?) / c.mean_last(Split::Train, Metric::WallTime)?)
    };
    let mut checks = Checks::new("parts of the claim");
    let lowest = all
        .iter()
        .all(|c| std::ptr::eq(c, one) || loss(one).zip(loss(c)).is_some_and(|(a, b)| a < b));
    checks.push(
        lowest,
        format!(
            "{} ends lowest per epoch (train loss {})",
            one.label,
            show(loss(one))
        ),
    );
    let fastest = all
        .iter()
        .filter(|c| c.settings.batch_size != BatchSize::Size(1))
        .filter(|c| !matches!(c.settings.batch_size, BatchSize::Full(_)))
        .max_by(|a, b| {
            rate(a)
                .unwrap_or(f64::MIN)
                .total_cmp(&rate(b).unwrap_or(f64::MIN))
        })?;
    let best = all.iter().all(|c| {
        std::ptr::eq(c, fastest) || rate(fastest).is_some_and(|f| rate(c).is_none_or(|o| f > o))
    });
    let rates: Vec<String> = all
        .iter()
        .map(|c| format!("{} {}", c.label, show(rate(c))))
        .collect();
    checks.push(
        best,
        format!(
            "{} makes the most progress per second (loss drop per s: {})",
            fastest.label,
            rates.join(", ")
        ),
    );
    checks.verdict()
}

/// BatchNorm validates better than the same settings without it, under a bad initialisation or
/// a large rate (every pair but good initialisation at the smallest rate).
pub(super) fn batchnorm(all: &[Config]) -> Option<Verdict> {
    let init = |c: &Config| c.settings.model.init_scale;
    let lr = |c: &Config| c.settings.optimizer.lr;
    let good_init = all.iter().map(init).fold(f64::MIN, f64::max);
    let small_lr = all.iter().map(lr).fold(f64::MAX, f64::min);
    let mut checks = Checks::new("hard settings");
    for bn in all.iter().filter(|c| c.settings.model.batch_norm) {
        if init(bn) == good_init && lr(bn) == small_lr {
            continue;
        }
        let Some(plain) = all
            .iter()
            .find(|c| !c.settings.model.batch_norm && init(c) == init(bn) && lr(c) == lr(bn))
        else {
            continue;
        };
        let (won, n) = wins(bn, plain, Split::Valid, Metric::Accuracy, false);
        checks.push(
            won == n && n > 0,
            format!(
                "{} validates at {} vs {} for {} (higher on {won} of {n} seeds)",
                bn.label,
                show(bn.mean_last(Split::Valid, Metric::Accuracy)),
                show(plain.mean_last(Split::Valid, Metric::Accuracy)),
                plain.label
            ),
        );
    }
    checks.verdict()
}

/// By p: each step up narrows the train–validation accuracy gap, and the largest p validates
/// below the best of the others.
pub(super) fn dropout(sorted: &[&Config]) -> Option<Verdict> {
    let mut checks = Checks::new("parts of the claim");
    for w in sorted.windows(2) {
        let (a, b) = (w[0], w[1]);
        checks.push(
            b.gap().zip(a.gap()).is_some_and(|(gb, ga)| gb < ga),
            format!(
                "the gap narrows from {} ({}) to {} ({})",
                a.label,
                show(a.gap()),
                b.label,
                show(b.gap())
            ),
        );
    }
    let (top, rest) = sorted.split_last()?;
    let acc = |c: &Config| c.mean_last(Split::Valid, Metric::Accuracy);
    let best = rest.iter().filter_map(|c| acc(c)).fold(f64::MIN, f64::max);
    checks.push(
        acc(top).is_some_and(|a| a < best),
        format!(
            "{} validates below the best smaller p ({} vs {})",
            top.label,
            show(acc(top)),
            show(Some(best))
        ),
    );
    checks.verdict()
}

/// Every β > 0 narrows the gap of β = 0, the largest β fits worst, and coupled weight decay 2β
/// validates closer to L2 β than decoupled weight decay 2β does.
pub(super) fn l2(all: &[Config]) -> Option<Verdict> {
    let wd = |c: &Config| c.optimizer_field("weight_decay");
    let mut penalties: Vec<&Config> = all
        .iter()
        .filter(|c| c.settings.optimizer.name() != "adamw" && wd(c) == 0.0)
        .collect();
    penalties.sort_by(|a, b| a.settings.l2.total_cmp(&b.settings.l2));
    let (base, rest) = penalties.split_first()?;
    let mut checks = Checks::new("parts of the claim");
    for c in rest {
        checks.push(
            c.gap().zip(base.gap()).is_some_and(|(g, g0)| g < g0),
            format!(
                "{} gap {} vs {} at {}",
                c.label,
                show(c.gap()),
                show(base.gap()),
                base.label
            ),
        );
    }
    let fit = |c: &Config| c.mean_last(Split::Train, Metric::Accuracy);
    let top = penalties.last()?;
    checks.push(
        penalties
            .iter()
            .all(|c| std::ptr::eq(*c, *top) || fit(top).zip(fit(c)).is_some_and(|(t, o)| t < o)),
        format!(
            "{} underfits (train accuracy {}, the lowest)",
            top.label,
            show(fit(top))
        ),
    );
    let coupled = all
        .iter()
        .find(|c| c.settings.optimizer.name() == "adam" && wd(c) > 0.0);
    let decoupled = all.iter().find(|c| c.settings.optimizer.name() == "adamw");
    if let (Some(cw), Some(dw)) = (coupled, decoupled)
        && let Some(same) = penalties
            .iter()
            .find(|c| (c.settings.l2 * 2.0 - wd(cw)).abs() <= 1e-12 * wd(cw))
    {
        let acc = |c: &Config| c.mean_last(Split::Valid, Metric::Accuracy);
        let off = |c: &Config| acc(c).zip(acc(same)).map(|(a, b)| (a - b).abs());
        checks.push(
            off(cw).zip(off(dw)).is_some_and(|(x, y)| x < y),
            format!(
                "{} validates within {} of {}, {} within {}",
                cw.label,
                show(off(cw)),
                same.label,
                dw.label,
                show(off(dw))
            ),
        );
    }
    checks.verdict()
}

/// Unregularised: train accuracy ≥ 0.98 and a validation loss that ends above its minimum on
/// every seed; regularised: a lower final validation loss on every seed.
pub(super) fn overfitting(all: &[Config]) -> Option<Verdict> {
    let plain = all
        .iter()
        .find(|c| c.settings.l2 == 0.0 && c.settings.model.dropout == 0.0)?;
    let mut checks = Checks::new("parts of the claim");
    let fit = plain.mean_last(Split::Train, Metric::Accuracy);
    checks.push(
        fit.is_some_and(|f| f >= 0.98),
        format!("{} reaches train accuracy {}", plain.label, show(fit)),
    );
    let turned = plain.runs_whose_valid_loss(|v| {
        let low = v.iter().copied().fold(f64::MAX, f64::min);
        v.last().is_some_and(|l| *l > low)
    });
    checks.push(
        turned == plain.runs.len(),
        format!(
            "its validation loss ends above its minimum on {turned} of {} seeds",
            plain.runs.len()
        ),
    );
    for c in all.iter().filter(|c| !std::ptr::eq(*c, plain)) {
        let (won, n) = wins(c, plain, Split::Valid, Metric::Loss, true);
        checks.push(
            won == n && n > 0,
            format!(
                "{} ends at validation loss {} vs {} (lower on {won} of {n} seeds)",
                c.label,
                show(c.mean_last(Split::Valid, Metric::Loss)),
                show(plain.mean_last(Split::Valid, Metric::Loss))
            ),
        );
    }
    checks.verdict()
}

/// Unclipped diverges; each clipped run finishes; with an injected non-finite gradient, the run
/// that skips finishes with the step counted and the run that does not stops.
pub(super) fn clipping(all: &[Config]) -> Option<Verdict> {
    let t = |c: &Config| c.settings.optimizer.transforms;
    let injected = |c: &Config| !c.settings.inject_nonfinite.is_empty();
    let mut checks = Checks::new("parts of the claim");
    for c in all {
        let clipped = t(c).clip_norm.is_some() || t(c).clip_tensor_norm.is_some();
        match (injected(c), clipped, t(c).skip_nonfinite) {
            (false, false, _) => diverges(&mut checks, c),
            (false, true, _) => trains(&mut checks, c),
            (true, _, true) => {
                let counted = c
                    .runs
                    .iter()
                    .filter(|r| {
                        r.records
                            .iter()
                            .filter(|x| x.metric == Metric::SkippedSteps)
                            .map(|x| x.value)
                            .sum::<f64>()
                            >= c.settings.inject_nonfinite.len() as f64
                    })
                    .count();
                let (d, n) = (c.diverged(), c.runs.len());
                checks.push(
                    d == 0 && counted == n,
                    format!(
                        "{} survives ({} of {n} runs finished, the injected step skipped and \
                         counted in {counted})",
                        c.label,
                        n - d
                    ),
                );
            }
            (true, _, false) => diverges(&mut checks, c),
        }
    }
    checks.verdict()
}
