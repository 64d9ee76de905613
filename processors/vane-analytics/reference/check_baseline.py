"""Checks the ARIMA(1,1,1) independent-steps baseline of the calibration backtest against
statsmodels.

    cargo run --release -p vane-analytics --example calibration -- --events /tmp/events.json FILES...
    python3 reference/check_baseline.py /tmp/events.json [ORIGINS_PER_SERIES]

The backtest computes the baseline (what the original system did: ARIMA(1,1,1) normal marginals,
`1 - prod(1 - p_i)`) with vane's own ARIMA(1,1,1) fit, for speed. This script refits
`statsmodels.tsa.arima.model.ARIMA(train, order=(1, 1, 1))` at the first origins of every series,
computes the same probability from its `get_forecast` means and standard errors, and prints the
differences and both Brier scores on those events.
"""

import json
import sys
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.tsa.arima.model import ARIMA

warnings.simplefilter("ignore")


def main():
    events = json.load(open(sys.argv[1]))
    per_series = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    by_origin = {}
    for e in events:
        by_origin.setdefault((e["file"], e["origin"]), []).append(e)
    chosen, seen = [], {}
    for (f, o), evs in sorted(by_origin.items()):
        if seen.get(f, 0) < per_series:
            seen[f] = seen.get(f, 0) + 1
            chosen.append((f, o, evs))
    diffs, sm_sq, vane_sq = [], [], []
    cache = {}
    for f, o, evs in chosen:
        if f not in cache:
            cache[f] = pd.read_csv(f)["value"].to_numpy(dtype=float)
        x = cache[f]
        h = evs[0]["horizon"]
        fc = ARIMA(x[:o], order=(1, 1, 1)).fit().get_forecast(h)
        mean, se = np.asarray(fc.predicted_mean), np.asarray(fc.se_mean)
        for e in evs:
            lo = -np.inf if e["min"] is None else e["min"]
            hi = np.inf if e["max"] is None else e["max"]
            p_out = norm.cdf((lo - mean) / se) + norm.sf((hi - mean) / se)
            p = 1.0 - np.prod(1.0 - p_out)
            diffs.append(abs(p - e["arima111"]))
            hit = 1.0 if e["hit"] else 0.0
            sm_sq.append((p - hit) ** 2)
            vane_sq.append((e["arima111"] - hit) ** 2)
    print(f"{len(diffs)} events at {len(chosen)} origins")
    print(f"|statsmodels - vane| baseline probability: median {np.median(diffs):.4f}, max {np.max(diffs):.4f}")
    print(f"Brier of the baseline: statsmodels fit {np.mean(sm_sq):.4f}, vane's fit {np.mean(vane_sq):.4f}")


if __name__ == "__main__":
    main()
