"""Scores other ways of weighing the violation probability's two halves, offline.

Run from the crate folder on the events that `examples/calibration.rs` writes with `--halves`:

    cargo run --release -p vane-analytics --example calibration -- --origins 40 --halves \
        --events /tmp/halves40.json ../../../shared/data/nab/*.csv > /dev/null
    python3 reference/calibration_variants.py /tmp/halves40.json [kept|base-rate|logistic|shrink]

`kept` recomputes vane's own rule (the blend `(a + w (m - a))^k` of the model share `m` and the
analogue share `a`, `w` and `k` chosen on the event's hindcasts by Brier score on a grid, the
equal mixture unless another is strictly better); it must reproduce the `vane` column of the
example. `base-rate` adds a third component, the share of the hindcasts whose window left the
range, mixed in with a weight `v` chosen together with `w` and `k`. `logistic` maps the blend
(`k = 1`) through `sigmoid(c + b logit(p))`, with `w`, `c` and `b` chosen on the hindcasts.
`shrink` takes vane's probability and multiplies its logit by a fixed 0.85. Prints the Brier
score of each series against the historical rate and the pooled score.
"""

import json
import math
import sys
from collections import defaultdict

GRID = [(t / 10, k) for k in (1.0, 1.25, 1.5, 1.75, 2.0, 2.5) for t in range(11)]
EQUAL = (0.5, 1.0)
BASE_RATE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)
LOGISTIC_SHIFTS = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
LOGISTIC_SLOPES = (0.5, 0.75, 1.0, 1.25, 1.5)
SHRINK = 0.85


def blend(w, k, m, a):
    return min(max(a + w * (m - a), 0.0), 1.0) ** k


def brier_on(hindcasts, prob):
    return sum((prob(m, a) - float(left)) ** 2 for m, a, left in hindcasts)


def best_on_hindcasts(event, candidates, prob):
    """`prob(params, m, a)` with the candidate `params` whose Brier score on the event's hindcasts
    is lowest: the equal mixture unless one is strictly better."""
    m, a = event["shares"]
    if a is None:
        return m
    hindcasts = event["hindcasts"]
    best, best_score = None, brier_on(hindcasts, lambda mm, aa: blend(*EQUAL, mm, aa))
    for params in candidates:
        score = brier_on(hindcasts, lambda mm, aa: prob(params, mm, aa))
        if score < best_score - 1e-12:
            best, best_score = params, score
    return blend(*EQUAL, m, a) if best is None else prob(best, m, a)


def kept(event):
    return best_on_hindcasts(event, GRID, lambda p, m, a: blend(*p, m, a))


def base_rate(event):
    hindcasts = event["hindcasts"]
    rate = sum(left for _, _, left in hindcasts) / max(len(hindcasts), 1)
    candidates = [(v, w, k) for v in BASE_RATE_WEIGHTS for w, k in [EQUAL] + GRID]
    return best_on_hindcasts(event, candidates, lambda p, m, a: (1 - p[0]) * blend(p[1], p[2], m, a) + p[0] * rate)


def logit(p):
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def logistic(event):
    candidates = [(t / 10, c, b) for t in range(11) for c in LOGISTIC_SHIFTS for b in LOGISTIC_SLOPES]
    return best_on_hindcasts(event, candidates, lambda p, m, a: sigmoid(p[1] + p[2] * logit(blend(p[0], 1.0, m, a))))


def shrink(event):
    return sigmoid(SHRINK * logit(kept(event)))


def main():
    events = json.load(open(sys.argv[1]))
    rule = {"kept": kept, "base-rate": base_rate, "logistic": logistic, "shrink": shrink}[sys.argv[2] if len(sys.argv) > 2 else "kept"]
    per_series = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for e in events:
        outcome = 1.0 if e["hit"] else 0.0
        s = per_series[e["file"].rsplit("/", 1)[-1].removesuffix(".csv")]
        s[0] += (rule(e) - outcome) ** 2
        s[1] += (e["historical"] - outcome) ** 2
        s[2] += (e["arima111"] - outcome) ** 2
        s[3] += 1
    wins, total, count = 0, 0.0, 0
    for name, (vane, hist, arima, n) in sorted(per_series.items()):
        better = vane < min(hist, arima)
        wins += better
        total, count = total + vane, count + n
        print(f"{name:40s} {vane / n:.4f}  historical {hist / n:.4f}  ARIMA {arima / n:.4f}  {'' if better else 'loses'}")
    print(f"pooled {total / count:.4f}, better than both baselines on {wins} of {len(per_series)} series")


if __name__ == "__main__":
    main()
