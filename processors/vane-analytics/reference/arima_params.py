"""Compares vane's ARIMA estimates with statsmodels' `ARIMA(...).fit()` on a few series.

Runs `cargo run --release -p vane-analytics --example arima_params` for each case and prints, per
order, the largest absolute difference of the AR, MA and mean estimates (the mean relative to the
standard deviation of the differences), for the exact-likelihood fit and for the CSS start, and
statsmodels' own (concentrated) log-likelihood at vane's exact estimate minus at its own: on the
flat ridges of near-cancelling AR and MA roots the coefficients can differ while the likelihoods
agree, and a positive difference means vane found the higher maximum.
Usage: `python3 reference/arima_params.py FILE.csv[:N]...` (the first N points when given).
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.arima.model import ARIMA

warnings.simplefilter("ignore")

ORDERS = sys.argv[1].split(";") if ";" in sys.argv[1] else ["1,1,1", "2,0,2", "2,1,2", "1,0,2", "2,0,0", "0,0,2", "2,1,1"]


def main():
    files = [a for a in sys.argv[1:] if ";" not in a]
    worst = {"exact": 0.0, "css": 0.0}
    for spec in files:
        path, _, n = spec.partition(":")
        n = int(n or 0)
        x = pd.read_csv(path)["value"].to_numpy(dtype=float)
        if n:
            x = x[:n]
        out = subprocess.run(
            ["cargo", "run", "-q", "--release", "-p", "vane-analytics", "--example", "arima_params", "--", path, str(n), *ORDERS],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        sd = float(np.std(np.diff(x))) or 1.0
        for line in out.splitlines():
            v = json.loads(line)
            p, d, q = v["order"]
            r = ARIMA(x, order=(p, d, q)).fit()
            par = r.params
            sm_mean = par[0] if d == 0 else 0.0
            off = 1 if d == 0 else 0
            sm_ar, sm_ma = par[off : off + p], par[off + p : off + p + q]
            cmod = ARIMA(x, order=(p, d, q), concentrate_scale=True)
            own = np.r_[[v["mean"]] if d == 0 else [], v["ar"], v["ma"]]
            dll = cmod.loglike(own) - cmod.loglike(par[:-1])
            row = []
            for label, ar, ma, mean in (("exact", v["ar"], v["ma"], v["mean"]), ("css", v["css_ar"], v["css_ma"], v["css_mean"])):
                diff = max([0.0] + [abs(a - b) for a, b in zip(ar, sm_ar)] + [abs(a - b) for a, b in zip(ma, sm_ma)] + [abs(mean - sm_mean) / sd])
                worst[label] = max(worst[label], diff)
                row.append(f"{label} {diff:.1e}")
            name = path.rsplit("/", 1)[-1][:28]
            print(f"{name:28} n={len(x):5} ({p},{d},{q}) " + "  ".join(row) + f"  dloglike {dll:+.2e}  vane {v['ms']:.1f} ms  sm ar {np.round(sm_ar, 4)} ma {np.round(sm_ma, 4)} vane ar {np.round(v['ar'], 4)} ma {np.round(v['ma'], 4)}")
    print(f"worst: exact {worst['exact']:.1e}, css {worst['css']:.1e}")


if __name__ == "__main__":
    main()
