"""Writes the golden files the Rust tests compare against, using statsmodels as the reference.

Run from the crate folder:  python3 reference/generate.py
Inputs:  tests/data/*.csv (NAB copies, plus synthetic series this script writes with a fixed seed).
Outputs: tests/golden/*.json.
Versions used are recorded in tests/golden/versions.json.
"""

import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import scipy
import statsmodels
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.filters.hp_filter import hpfilter
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.seasonal import STL, seasonal_decompose
from statsmodels.tsa.stattools import acf, adfuller, pacf

warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
DATA = os.path.join(CRATE, "tests", "data")
GOLDEN = os.path.join(CRATE, "tests", "golden")

# Long vector outputs (HP, decompositions, STL) are stored for the first LONG points only, to keep
# the golden files small; scalar outputs use the whole series.
LONG = 720


def fl(v):
    """JSON-safe float: NaN becomes null."""
    v = float(v)
    # 13 significant digits: rounding error 5e-14, far inside the 1e-8 tolerance.
    return None if math.isnan(v) else float(f"{v:.13g}")


def fls(a):
    return [fl(v) for v in np.asarray(a, dtype=float)]


def read(name):
    df = pd.read_csv(os.path.join(DATA, name))
    ts = df["timestamp"]
    if pd.api.types.is_numeric_dtype(ts):
        secs = ts.to_numpy().astype("int64")
    else:
        secs = np.array([int(v.timestamp()) for v in pd.to_datetime(ts, utc=True, format="ISO8601")])
    return secs, df["value"].to_numpy(dtype=float)


def write_synthetic():
    rng = np.random.default_rng(20240531)
    # Hourly, period 24: positive level + linear trend + daily season + AR(1) noise.
    n = 480
    t = np.arange(n)
    noise = np.zeros(n)
    e = rng.normal(0, 1.0, n)
    for i in range(1, n):
        noise[i] = 0.5 * noise[i - 1] + e[i]
    season = 8 * np.sin(2 * np.pi * t / 24) + 3 * np.cos(4 * np.pi * t / 24)
    x = 50 + 0.05 * t + season + noise
    pd.DataFrame({"timestamp": 1_700_000_000 + 3600 * t, "value": x}).to_csv(
        os.path.join(DATA, "synthetic_season24.csv"), index=False
    )
    # Random walk with a period-12 season (non-stationary), RFC 3339 timestamps.
    n = 240
    t = np.arange(n)
    x = 100 + np.cumsum(rng.normal(0, 1, n)) + 5 * np.sin(2 * np.pi * t / 12)
    stamps = pd.to_datetime(1_600_000_000 + 300 * t, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"timestamp": stamps, "value": x}).to_csv(
        os.path.join(DATA, "synthetic_rw12.csv"), index=False
    )


SERIES = [
    ("ec2_cpu_utilization_24ae8d.csv", 288),
    ("rds_cpu_utilization_e47b3b.csv", 288),
    ("elb_request_count_8c0756.csv", 288),
    ("synthetic_season24.csv", 24),
    ("synthetic_rw12.csv", 12),
]


def adf_cases(x):
    out = []
    for regression in ["c", "ct", "ctt", "n"]:
        for autolag in ["AIC", "BIC", "t-stat", None]:
            for maxlag in [None, 4]:
                r = adfuller(x, maxlag=maxlag, regression=regression, autolag=autolag, result_object=True)
                out.append(
                    {
                        "regression": regression,
                        "autolag": (autolag or "none").lower(),
                        "maxlag": maxlag,
                        "statistic": r.statistic,
                        "pvalue": r.pvalue,
                        "usedlag": int(r.lags),
                        "nobs": int(r.nobs),
                        "critical": {k: float(v) for k, v in r.critical_values.items()},
                    }
                )
    return out


def aggregates(ts, x):
    out = {}
    for label, secs in [("1h", 3600), ("3h", 3 * 3600), ("12h", 12 * 3600), ("2d", 2 * 86400)]:
        w = x[ts > ts[-1] - secs]
        out[label] = {
            "max": float(w.max()),
            "min": float(w.min()),
            "mean": float(w.mean()),
            "std": float(w.std(ddof=1)) if len(w) >= 2 else None,
            "count": int(len(w)),
        }
    return out


def fits(x, period):
    """In-sample SSE of statsmodels' Holt-Winters (default `fit()`, estimated initial state) and
    ARIMA fits; vane must be no worse than these by more than 1 %."""
    out = {}
    seasonals = [("add", "add"), ("none", None)]
    if np.all(x > 0):
        seasonals.insert(1, ("mul", "mul"))
    for label, seasonal in seasonals:
        r = ExponentialSmoothing(
            x,
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=period if seasonal else None,
        ).fit()
        out[f"hw_add_damped_{label}"] = fl(r.sse)
    r = ARIMA(x, order=(1, 1, 1)).fit()
    # statsmodels' first residual is the level itself (diffuse start); skip it like vane's CSS.
    out["arima_111"] = fl(np.sum(r.resid[1:] ** 2))
    return out


def golden_for(name, period):
    ts, x = read(name)
    g = {"file": name, "n": len(x), "period": period, "long": min(LONG, len(x))}
    g["aggregates"] = aggregates(ts, x)
    g["adf"] = adf_cases(x)
    a = acf(x, alpha=0.05, result_object=True)
    g["acf"] = fls(a.acf)
    g["acf_confint"] = [fls(r) for r in a.confint]
    g["pacf"] = fls(pacf(x))
    xl = x[:LONG]
    cycle, trend = hpfilter(xl, 1600)
    g["hp_1600"] = fls(trend)
    _, trend = hpfilter(xl, 100)
    g["hp_100"] = fls(trend)
    d = seasonal_decompose(xl, period=period)
    g["decompose_additive"] = {"trend": fls(d.trend), "seasonal": fls(d.seasonal[:period])}
    if np.all(xl > 0):
        d = seasonal_decompose(xl, period=period, model="multiplicative")
        g["decompose_multiplicative"] = {"trend": fls(d.trend), "seasonal": fls(d.seasonal[:period])}
    r = STL(xl, period=period).fit()
    g["stl"] = {"trend": fls(r.trend), "seasonal": fls(r.seasonal)}
    r = STL(xl, period=period, robust=True).fit()
    g["stl_robust"] = {"trend": fls(r.trend), "seasonal": fls(r.seasonal)}
    g["sse"] = fits(x, period)
    return g


def main():
    os.makedirs(GOLDEN, exist_ok=True)
    write_synthetic()
    for name, period in SERIES:
        g = golden_for(name, period)
        out = os.path.join(GOLDEN, name.replace(".csv", ".json"))
        with open(out, "w") as f:
            json.dump(g, f, separators=(",", ":"))
        print("wrote", out)
    versions = {
        "statsmodels": statsmodels.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
    }
    with open(os.path.join(GOLDEN, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1)


if __name__ == "__main__":
    main()
