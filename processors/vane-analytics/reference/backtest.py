"""Rolling-origin backtest: vane's served forecast beside statsmodels, augurs and statsforecast.

Run from the crate folder, after the Rust side has written its forecasts:

    cargo run --release -p vane-analytics --example backtest -- FILES... > /tmp/vane_backtest.json
    python3 reference/backtest.py /tmp/vane_backtest.json

The origins, horizon and training data are the ones in vane's JSON (each model sees only the
points before the origin). Peers get the calendar period of 5-minute data (288, one day), vane
detects its own from the training data as `vane analyze` does. Models:

- statsmodels `ExponentialSmoothing(trend="add", damped_trend=True, seasonal="add", 288).fit()`;
- statsmodels `ARIMA`: p, q in 0..2 by AIC with d from `adfuller` (the search vane runs);
- augurs `MSTL.ets([288])` (MSTL with an AutoETS trend), when `augurs` is installed;
- statsforecast `MSTL(season_length=288)` (AutoETS trend), when `statsforecast` is installed
  (one warm-up call first, so numba's compilation is not counted).

MASE = mean absolute error over the horizon / mean absolute one-step naive error on the training
data. Prints markdown tables: MASE per series (mean over origins) and mean seconds per forecast.

A second table is like for like: vane's Holt-Winters with statsmodels' configuration above
(the JSON's `"hw"`) against statsmodels' Holt-Winters, and vane's ARIMA of the order
statsmodels' search chose at that origin (from the JSON's `"arima"`, which holds every order)
against statsmodels' ARIMA, with the in-sample SSE of both (vane's over statsmodels', per origin;
for ARIMA statsmodels' residuals after the first d against vane's exact-filter one-step errors)
and each series' mean MASE difference with its standard error over the origins.
`--statsmodels-only` skips augurs and statsforecast. `--cache FILE` keeps statsmodels' forecasts
(and its Holt-Winters SSE, ARIMA order and ARIMA SSE) per series and origin between runs, so that
a change on vane's side is re-scored in seconds; their times are then the ones of the run that
filled the cache. An ARIMA SSE missing from an older cache costs one refit of the cached order.
"""

import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.stattools import adfuller

warnings.simplefilter("ignore")

PERIOD = 288
LAST_HW_SSE = {}


def sm_hw(train, h):
    m = ExponentialSmoothing(train, trend="add", damped_trend=True, seasonal="add", seasonal_periods=PERIOD)
    r = m.fit()
    LAST_HW_SSE["sse"] = r.sse
    return r.forecast(h)


LAST_ORDER = {}


def sm_arima(train, h):
    d = 0 if adfuller(train)[1] < 0.05 else 1
    best = None
    for p in range(3):
        for q in range(3):
            try:
                r = ARIMA(train, order=(p, d, q)).fit()
            except Exception:  # noqa: BLE001
                continue
            if best is None or r.aic < best.aic:
                best = r
    LAST_ORDER["order"] = best.model.order
    LAST_ORDER["sse"] = arima_sse(best)
    return best.forecast(h)


def arima_sse(result):
    """In-sample SSE of a statsmodels ARIMA fit: its one-step residuals after the first d."""
    return float(np.sum(np.asarray(result.resid)[result.model.order[1] :] ** 2))


def sm_arima_sse(train, order):
    """The in-sample SSE of statsmodels' ARIMA of `order`, for cache entries written before the
    SSE was kept (one refit)."""
    return arima_sse(ARIMA(train, order=tuple(order)).fit())


def models(extra=True):
    out = [("statsmodels Holt-Winters", sm_hw), ("statsmodels ARIMA", sm_arima)]
    if not extra:
        return out
    try:
        import augurs

        def aug(train, h):
            m = augurs.MSTL.ets([PERIOD])
            m.fit(train)
            return m.predict(h, level=None).point()

        out.append(("augurs MSTL+ETS", aug))
    except Exception as e:  # noqa: BLE001 (ImportError, or a broken install against this pandas)
        print(f"augurs unavailable ({e}): skipped", file=sys.stderr)
    try:
        from statsforecast.models import MSTL

        def sf(train, h):
            return MSTL(season_length=PERIOD).forecast(y=train, h=h)["mean"]

        sf(np.sin(np.arange(4 * PERIOD) / 7.0) + 2.0, 10)  # numba warm-up
        out.append(("statsforecast MSTL", sf))
    except Exception as e:  # noqa: BLE001
        print(f"statsforecast unavailable ({e}): skipped", file=sys.stderr)
    return out


def mase(train, actual, forecast):
    scale = np.mean(np.abs(np.diff(train)))
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))) / scale)


def cached(name, fn, cache, key):
    """`fn` through the cache: statsmodels' forecast, time and side outputs for one origin."""
    k = f"{name}|{key}"
    if k not in cache:
        t = time.perf_counter()
        f = [float(v) for v in fn(*cache["__args__"])]
        secs = time.perf_counter() - t
        hw, ar = name == "statsmodels Holt-Winters", name == "statsmodels ARIMA"
        cache[k] = {"forecast": f, "secs": secs, "sse": LAST_HW_SSE["sse"] if hw else None, "order": LAST_ORDER["order"] if ar else None}
        if ar:
            cache[k]["arima_sse"] = LAST_ORDER["sse"]
    hit = cache[k]
    if hit["order"] is not None and hit.get("arima_sse") is None:
        hit["arima_sse"] = sm_arima_sse(cache["__args__"][0], hit["order"])
    if hit.get("arima_sse") is not None:
        LAST_ORDER["sse"] = hit["arima_sse"]
    if hit["sse"] is not None:
        LAST_HW_SSE["sse"] = hit["sse"]
    if hit["order"] is not None:
        LAST_ORDER["order"] = tuple(hit["order"])
    return hit["forecast"], hit["secs"]


def main():
    argv = sys.argv[1:]
    cache_path = argv[argv.index("--cache") + 1] if "--cache" in argv else None
    args = [a for i, a in enumerate(argv) if not a.startswith("--") and (i == 0 or argv[i - 1] != "--cache")]
    vane = json.load(open(args[0]))
    cache = json.load(open(cache_path)) if cache_path and os.path.exists(cache_path) else {}
    peers = models(extra="--statsmodels-only" not in sys.argv)
    names = ["vane (served)"] + [n for n, _ in peers]
    table = []
    for s in vane:
        x = pd.read_csv(s["file"])["value"].to_numpy(dtype=float)
        h = s["horizon"]
        scores = {n: [] for n in names}
        secs = {n: [] for n in names}
        served = []
        lfl = {"vane HW": [], "sm HW": [], "vane ARIMA": [], "sm ARIMA": [], "orders": [], "HW SSE": [], "ARIMA SSE": []}
        for o in s["origins"]:
            origin = o["origin"]
            train, actual = x[:origin], x[origin : origin + h]
            scores["vane (served)"].append(mase(train, actual, o["forecast"]))
            secs["vane (served)"].append(o["ms"] / 1000.0)
            served.append(o["model"].split("(")[0] + (f"/p{o['period']}" if o["period"] else ""))
            cache["__args__"] = (train, h)
            for name, fn in peers:
                f, sec = cached(name, fn, cache, f"{s['series']}@{origin}")
                secs[name].append(sec)
                scores[name].append(mase(train, actual, f))
            del cache["__args__"]
            lfl["sm HW"].append(scores["statsmodels Holt-Winters"][-1])
            lfl["sm ARIMA"].append(scores["statsmodels ARIMA"][-1])
            lfl["HW SSE"].append(o["hw"]["sse"] / LAST_HW_SSE["sse"] if o.get("hw") is not None else float("nan"))
            lfl["vane HW"].append(mase(train, actual, o["hw"]["forecast"]) if o.get("hw") is not None else float("nan"))
            order = LAST_ORDER["order"]
            key = ",".join(str(k) for k in order)
            va = o.get("arima", {}).get(key)
            lfl["vane ARIMA"].append(mase(train, actual, va["forecast"]) if va else float("nan"))
            vs = va.get("sse") if va else None
            lfl["ARIMA SSE"].append(vs / LAST_ORDER["sse"] if vs is not None else float("nan"))
            lfl["orders"].append(key)
        row = {"series": s["series"], "served": ", ".join(sorted(set(served)))}
        row["lfl"] = {k: (v if k == "orders" else float(np.mean(v))) for k, v in lfl.items()}
        row["per_origin"] = {**scores, **{f"lfl {k}": v for k, v in lfl.items() if k != "orders"}}
        row["origins"] = [o["origin"] for o in s["origins"]]
        for n in names:
            row[n] = (float(np.mean(scores[n])), float(np.mean(secs[n])))
        table.append(row)
        print(s["series"], {n: round(row[n][0], 3) for n in names}, file=sys.stderr)
        if cache_path:
            json.dump(cache, open(cache_path, "w"))
    print("| series | " + " | ".join(names) + " | vane served | vane - best peer (± 1 SE) |")
    print("|---|" + "---|" * (len(names) + 2))
    for r in table:
        best = min(r[n][0] for n in names)
        cells = []
        for n in names:
            v = f"{r[n][0]:.3f}"
            cells.append(f"**{v}**" if r[n][0] == best else v)
        peer = min(names[1:], key=lambda n: r[n][0])
        print(f"| {r['series']} | " + " | ".join(cells) + f" | {r['served']} | {paired(r, 'vane (served)', peer)} |")
    means = {n: float(np.mean([r[n][0] for r in table])) for n in names}
    print("| **mean MASE** | " + " | ".join(f"{means[n]:.3f}" for n in names) + " | | |")
    wins = {n: sum(1 for r in table if r[n][0] <= min(r[m][0] for m in names) + 1e-12) for n in names}
    print("| series where best | " + " | ".join(str(wins[n]) for n in names) + " | | |")
    not_worse = sum(1 for r in table if r["vane (served)"][0] <= min(r[n][0] for n in names[1:]) + 1e-12)
    print("| mean seconds per forecast | " + " | ".join(f"{np.mean([r[n][1] for r in table]):.3f}" for n in names) + " | | |")
    print()
    print(f"vane at least as accurate as every peer on {not_worse} of {len(table)} series")
    origins = sum(len(s["origins"]) for s in vane)
    print(f"{len(table)} series, {origins} origins, horizon {vane[0]['horizon']}")
    like_for_like(table)


def paired(row, a, b):
    """Mean per-origin difference of MASE between `a` and `b` with its standard error (origins
    taken as independent), as text: a difference within about two standard errors of zero is one
    that other origins of the same series could reverse."""
    d = np.array(row["per_origin"][a]) - np.array(row["per_origin"][b])
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return "-"
    se = float(np.std(d, ddof=1) / np.sqrt(len(d)))
    z = f" ({d.mean() / se:+.1f} SE)" if se > 0 else ""
    return f"{d.mean():+.3f} ± {se:.3f}{z}"


def like_for_like(table):
    print()
    print("Like for like (same configuration / order as statsmodels; MASE, mean over origins):")
    print()
    print(
        "| series | vane HW | statsmodels HW | vane/sm | HW in-sample SSE vane/sm "
        "| vane ARIMA | statsmodels ARIMA | vane/sm | ARIMA in-sample SSE vane/sm | statsmodels orders |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        x = r["lfl"]
        orders = ", ".join(sorted(set(x["orders"])))
        print(
            f"| {r['series']} | {x['vane HW']:.3f} | {x['sm HW']:.3f} | {x['vane HW'] / x['sm HW']:.3f} "
            f"| {x['HW SSE']:.3f} | {x['vane ARIMA']:.3f} | {x['sm ARIMA']:.3f} | {x['vane ARIMA'] / x['sm ARIMA']:.3f} "
            f"| {x['ARIMA SSE']:.3f} | {orders} |"
        )
    m = {k: float(np.mean([r["lfl"][k] for r in table])) for k in ("vane HW", "sm HW", "vane ARIMA", "sm ARIMA")}
    print(
        f"| **mean MASE** | {m['vane HW']:.3f} | {m['sm HW']:.3f} | {m['vane HW'] / m['sm HW']:.3f} | "
        f"| {m['vane ARIMA']:.3f} | {m['sm ARIMA']:.3f} | {m['vane ARIMA'] / m['sm ARIMA']:.3f} | | |"
    )
    print()
    for model in ("HW", "ARIMA"):
        ratios = [
            (v, r["series"], origin)
            for r in table
            for v, origin in zip(r["per_origin"][f"lfl {model} SSE"], r["origins"])
            if np.isfinite(v)
        ]
        if not ratios:
            print(f"{model} in-sample SSE vane/sm: not in vane's JSON")
            continue
        over = [f"{n}@{o} {v:.4f}" for v, n, o in sorted(ratios, reverse=True) if v > 1.01]
        top = max(ratios)
        print(
            f"{model} in-sample SSE vane/sm: largest {top[0]:.5f} ({top[1]}@{top[2]}); "
            f"{len(over)} of {len(ratios)} origins above 1.01" + (": " + ", ".join(over) if over else "")
        )
    print()
    for a, b in (("vane HW", "sm HW"), ("vane ARIMA", "sm ARIMA")):
        ok = sum(1 for r in table if r["lfl"][a] <= r["lfl"][b] + 1e-12)
        worse = [
            (r["series"], r["lfl"][a] / r["lfl"][b] - 1, paired(r, f"lfl {a}", f"lfl {b}"))
            for r in table
            if r["lfl"][a] > r["lfl"][b] + 1e-12
        ]
        print(
            f"{a} <= {b} on {ok} of {len(table)} series; worse (MASE difference ± 1 SE over the origins): "
            + (", ".join(f"{n} +{w:.1%} ({p})" for n, w, p in worse) or "none")
        )


if __name__ == "__main__":
    main()
