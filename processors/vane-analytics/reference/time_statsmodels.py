"""Times, with statsmodels, the same work as vane's `analyze` on one 4,032-point NAB series.

Run from the crate folder:  python3 reference/time_statsmodels.py [tests/data/FILE.csv]
Prints per-routine wall times (best of 3 for the fast routines, one run for the fits) and the
in-sample SSE of the forecasting fits, so docs/benchmarks.md can compare like with like.
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.filters.hp_filter import hpfilter
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.seasonal import STL, seasonal_decompose
from statsmodels.tsa.stattools import acf, adfuller, pacf

warnings.simplefilter("ignore")

path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/ec2_cpu_utilization_24ae8d.csv"
PERIOD = 288


def timed(label, fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:40s} {best * 1000:10.2f} ms")
    return out, best


total = 0.0
df, t = timed("read_csv + to_datetime", lambda: pd.read_csv(path, parse_dates=["timestamp"]))
total += t
x = df["value"].to_numpy(dtype=float)
ts = df["timestamp"]


def aggs():
    s = pd.Series(x, index=ts)
    last = ts.iloc[-1]
    out = {}
    for w in ["1h", "3h", "12h"]:
        win = s[s.index > last - pd.Timedelta(w)]
        out[w] = (win.max(), win.min(), win.mean(), win.std(), win.count())
    return out


for label, fn in [
    ("aggregates", aggs),
    ("adfuller", lambda: adfuller(x, result_object=True)),
    ("hpfilter", lambda: hpfilter(x, 1600)),
    ("acf+confint+pacf", lambda: (acf(x, alpha=0.05, result_object=True), pacf(x))),
    ("seasonal_decompose", lambda: seasonal_decompose(x, period=PERIOD)),
    ("STL", lambda: STL(x, period=PERIOD).fit()),
]:
    _, t = timed(label, fn)
    total += t

fits = [
    ("ES add damped + add season 288", lambda: ExponentialSmoothing(x, trend="add", damped_trend=True, seasonal="add", seasonal_periods=PERIOD).fit()),
    ("ES add damped + mul season 288", lambda: ExponentialSmoothing(x, trend="add", damped_trend=True, seasonal="mul", seasonal_periods=PERIOD).fit()),
    ("ES add damped, no season", lambda: ExponentialSmoothing(x, trend="add", damped_trend=True).fit()),
]
for label, fn in fits:
    if label.startswith("ES add damped + mul") and np.any(x <= 0):
        continue
    res, t = timed(label, fn, repeat=1)
    total += t
    print(f"{'':40s} sse {res.sse:.6g}")

d = 0 if adfuller(x, result_object=True).pvalue < 0.05 else 1
t0 = time.perf_counter()
best = None
for p in range(3):
    for q in range(3):
        try:
            r = ARIMA(x, order=(p, d, q)).fit()
        except Exception as e:  # noqa: BLE001
            continue
        if best is None or r.aic < best[1].aic:
            best = ((p, d, q), r)
t = time.perf_counter() - t0
print(f"{'ARIMA search p,q<=2 d=' + str(d):40s} {t * 1000:10.2f} ms  best {best[0]} sse {np.sum(best[1].resid[d:] ** 2):.6g}")
total += t
t0 = time.perf_counter()
r = ARIMA(x, order=(1, 1, 1)).fit()
print(f"{'ARIMA(1,1,1)':40s} {(time.perf_counter() - t0) * 1000:10.2f} ms  sse {np.sum(r.resid[1:] ** 2):.6g}")
print(f"{'TOTAL (whole analysis)':40s} {total * 1000:10.2f} ms")
