"""Holt-Winters at the backtest origins: vane's fitted parameters beside statsmodels'.

Run from the crate folder after `examples/backtest.rs` has written its JSON:

    python3 reference/hw_compare.py /tmp/vane_backtest.json [--cache /tmp/sm_hw.json] [--series NAME]

For every series and origin, statsmodels' `ExponentialSmoothing(trend="add", damped_trend=True,
seasonal="add", seasonal_periods=288).fit()` (as in `reference/backtest.py`) against the JSON's
`"hw"` fit: smoothing parameters, in-sample SSE, MASE of the forecast. statsmodels constrains
`beta <= alpha` and `gamma <= 1 - alpha`; the columns `b<=a` and `g<=1-a` say whether vane's
parameters satisfy them. `--cache` keeps statsmodels' fits between runs (they take about a second
each). Prints one line per origin and the per-series means.
"""

import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.holtwinters import ExponentialSmoothing

warnings.simplefilter("ignore")
PERIOD = 288


def mase(train, actual, forecast):
    scale = np.mean(np.abs(np.diff(train)))
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))) / scale)


def sm_fit(train, h):
    r = ExponentialSmoothing(train, trend="add", damped_trend=True, seasonal="add", seasonal_periods=PERIOD).fit()
    p = r.params
    return {
        "alpha": float(p["smoothing_level"]),
        "beta": float(p["smoothing_trend"]),
        "gamma": float(p["smoothing_seasonal"]),
        "phi": float(p["damping_trend"]),
        "l0": float(p["initial_level"]),
        "b0": float(p["initial_trend"]),
        "s0_sd": float(np.std(p["initial_seasons"])),
        "sse": float(r.sse),
        "forecast": [float(v) for v in r.forecast(h)],
    }


def main():
    argv = sys.argv[1:]
    opt = {}
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--cache", "--series"):
            opt[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    vane = json.load(open(rest[0]))
    cache_path = opt.get("--cache")
    cache = json.load(open(cache_path)) if cache_path and os.path.exists(cache_path) else {}
    print("series origin | vane a b g phi sse | sm a b g phi sse | b<=a g<=1-a | MASE vane sm")
    summary = []
    for s in vane:
        if "--series" in opt and opt["--series"] not in s["series"]:
            continue
        x = pd.read_csv(s["file"])["value"].to_numpy(dtype=float)
        h = s["horizon"]
        rows = []
        for o in s["origins"]:
            origin = o["origin"]
            train, actual = x[:origin], x[origin : origin + h]
            key = f"{s['series']}@{origin}"
            if key not in cache:
                cache[key] = sm_fit(train, h)
            sm = cache[key]
            v = o["hw"]
            mv, ms = mase(train, actual, v["forecast"]), mase(train, actual, sm["forecast"])
            ok_b = v["beta"] <= v["alpha"] + 1e-9
            ok_g = v["gamma"] <= 1 - v["alpha"] + 1e-9
            print(
                f"{s['series'][:28]:28} {origin:5} | {v['alpha']:.3f} {v['beta']:.3f} {v['gamma']:.3f} {v['phi']:.3f} {v['sse']:.4g} "
                f"| {sm['alpha']:.3f} {sm['beta']:.3f} {sm['gamma']:.3f} {sm['phi']:.3f} {sm['sse']:.4g} "
                f"| {ok_b!s:5} {ok_g!s:5} | {mv:.3f} {ms:.3f}"
            )
            rows.append((mv, ms, v["sse"] / sm["sse"], mase(train, actual, o["forecast"])))
        a = np.mean(rows, axis=0)
        summary.append((s["series"], *a))
    if cache_path:
        json.dump(cache, open(cache_path, "w"))
    print()
    print("| series | vane HW | statsmodels HW | vane/sm | HW in-sample SSE vane/sm |")
    print("|---|---|---|---|---|")
    for name, mv, ms, r, _ in summary:
        print(f"| {name} | {mv:.3f} | {ms:.3f} | {mv / ms:.3f} | {r:.3f} |")
    served = np.mean([r[4] for r in summary])
    print(f"vane served-model MASE mean over series: {served:.4f}")
    mv = np.mean([r[1] for r in summary])
    ms = np.mean([r[2] for r in summary])
    print(f"| **mean MASE** | {mv:.3f} | {ms:.3f} | {mv / ms:.3f} | |")
    worse = [(r[0], r[1] / r[2]) for r in summary if r[1] > r[2] + 1e-12]
    print(f"vane HW worse on {len(worse)} of {len(summary)}: " + ", ".join(f"{n} {w:.3f}" for n, w in worse))


if __name__ == "__main__":
    main()
