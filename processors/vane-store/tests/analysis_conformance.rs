//! The analysis read models, one behaviour on two backends (see `tests/conformance.rs` for how
//! the ScyllaDB half runs or skips): full rows round-trip, the latest analysis of a series is the
//! newest whatever the write order, history listings honour their time range, pagination and its
//! tokens, wipe, retention and invalid rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[macro_use]
mod common;

use std::collections::BTreeMap;

use vane_store::{
    AggregateQuery, AnalysisDetail, AnalysisPoint, AnalysisQuery, AnalysisRow, Autocorrelation, Forecast, ForecastStep, Page, Paged,
    SeriesQuery, SeriesRow, Stationarity, Store, StoreError,
};

fn id(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn detail(seed: f64) -> AnalysisDetail {
    AnalysisDetail {
        stationarity: Some(Stationarity {
            statistic: -3.25 + seed,
            pvalue: 0.017,
            used_lag: 4,
            nobs: 2875,
            critical_1pct: -3.43,
            critical_5pct: -2.86,
            critical_10pct: -2.57,
            stationary: true,
            regression: "c".into(),
            autolag: "aic".into(),
        }),
        autocorrelation: Some(Autocorrelation {
            acf: vec![1.0, 0.8 + seed / 1e6, 0.5, -1e-300],
            confint_lower: vec![1.0, 0.75, 0.43, -0.1],
            confint_upper: vec![1.0, 0.85, 0.57, 0.1],
            pacf: Vec::new(),
        }),
        forecast: Some(Forecast {
            model: "holt-winters(add damped, add 12)".into(),
            level: 0.95,
            fitted_at_ms: 1_699_999_000_000,
            steps: (1..=3)
                .map(|h| ForecastStep {
                    time_ms: 1_700_000_000_000 + h * 15_000,
                    mean: seed + h as f64,
                    lower: seed + h as f64 - 1.96,
                    upper: seed + h as f64 + 1.96,
                })
                .collect(),
        }),
        hp_lambda: Some(129_600.0),
        period: Some(12),
        decomposition_model: Some("additive".into()),
        missing: BTreeMap::from([("pacf".to_string(), "fewer than 2 × nlags points".to_string())]),
    }
}

/// Points with undefined components at the ends, as a centred moving average leaves them.
fn points(seed: f64, n: usize) -> Vec<AnalysisPoint> {
    (0..n)
        .map(|i| {
            let inside = i >= 2 && i + 2 < n;
            let value = seed + i as f64 * 0.5;
            AnalysisPoint {
                time_ms: 1_700_000_000_000 + i as i64 * 15_000,
                value,
                hp_trend: Some(value - 0.125),
                hp_cycle: Some(0.125),
                trend: inside.then_some(value - 0.25),
                seasonal: inside.then_some(if i % 2 == 0 { 0.5 } else { -0.5 }),
                resid: if inside { Some(f64::MIN_POSITIVE) } else { None },
            }
        })
        .collect()
}

/// Series `n` of `metric` analysed at `at`; content depends on both, so rows are told apart.
fn analysis(metric: &str, n: u64, at: i64) -> AnalysisRow {
    let seed = n as f64 * 100.0 + at as f64 / 1000.0;
    let points = points(seed, 12);
    AnalysisRow {
        series_id: id(n),
        metric: metric.to_string(),
        labels: BTreeMap::from([
            ("instance".to_string(), format!("host-{n}:9100")),
            ("ünï".to_string(), "a,b=\"c\"".to_string()),
        ]),
        analyzed_at_ms: at,
        window_start_ms: at - 12 * 3_600_000,
        window_end_ms: at - 1_000,
        points_count: points.len() as u64,
        compute_ms: 12.5 + n as f64,
        detail: detail(seed),
        points,
    }
}

fn without_points(row: &AnalysisRow) -> AnalysisRow {
    AnalysisRow {
        points: Vec::new(),
        ..row.clone()
    }
}

fn latest(metric: &str, with_points: bool) -> AnalysisQuery {
    AnalysisQuery {
        metric: metric.to_string(),
        from_ms: None,
        to_ms: None,
        with_points,
    }
}

fn history(metric: &str, from_ms: Option<i64>, to_ms: Option<i64>) -> AnalysisQuery {
    AnalysisQuery {
        metric: metric.to_string(),
        from_ms,
        to_ms,
        with_points: false,
    }
}

/// Every row of a listing, following tokens; checks that every page but the last is full.
async fn all(store: &Store, query: &AnalysisQuery, limit: u32) -> Vec<AnalysisRow> {
    let mut rows = Vec::new();
    let mut page = Page::first(limit);
    loop {
        let Paged { rows: got, next } = store.list_analyses(query, &page).await.unwrap();
        assert!(got.len() <= limit as usize);
        rows.extend(got.iter().cloned());
        match next {
            Some(token) => {
                assert_eq!(got.len(), limit as usize, "only the last page may be short");
                page = Page::after(limit, token);
            }
            None => return rows,
        }
    }
}

fn keys(rows: &[AnalysisRow]) -> Vec<(String, i64)> {
    rows.iter().map(|r| (r.series_id.clone(), r.analyzed_at_ms)).collect()
}

conformance!(a_full_analysis_round_trips, |store: Store| async move {
    let row = analysis("node_load1", 1, 1_700_000_000_000);
    assert!(row.points.iter().any(|p| p.trend.is_none()) && row.points.iter().any(|p| p.trend.is_some()));
    let mut bare = analysis("node_load1", 2, 1_700_000_000_000);
    bare.detail = AnalysisDetail::default();
    bare.labels = BTreeMap::new();
    bare.points = Vec::new();
    store.upsert_analyses(&[row.clone(), bare.clone()]).await.unwrap();

    let mut expected = vec![row.clone(), bare.clone()];
    expected.sort_by(|a, b| a.series_id.cmp(&b.series_id));
    assert_eq!(all(&store, &latest("node_load1", true), 10).await, expected);
    let stripped: Vec<AnalysisRow> = expected.iter().map(without_points).collect();
    assert_eq!(all(&store, &latest("node_load1", false), 10).await, stripped);
    // History rows never carry points, even when asked.
    let mut query = history("node_load1", Some(0), None);
    query.with_points = true;
    assert_eq!(all(&store, &query, 10).await, stripped);
    assert!(all(&store, &latest("other", true), 10).await.is_empty());
});

conformance!(the_latest_analysis_is_the_newest_in_any_write_order, |store: Store| async move {
    let (t1, t2, t3) = (1_700_000_000_000, 1_700_000_900_000, 1_700_001_800_000);
    // Series 1: newest first; series 2: oldest first; series 3: newest in the middle of a batch.
    store.upsert_analyses(&[analysis("m", 1, t3)]).await.unwrap();
    store.upsert_analyses(&[analysis("m", 1, t1), analysis("m", 1, t2)]).await.unwrap();
    store.upsert_analyses(&[analysis("m", 2, t1)]).await.unwrap();
    store.upsert_analyses(&[analysis("m", 2, t2), analysis("m", 2, t3)]).await.unwrap();
    store
        .upsert_analyses(&[analysis("m", 3, t2), analysis("m", 3, t3), analysis("m", 3, t1)])
        .await
        .unwrap();

    let mut expected: Vec<AnalysisRow> = (1..=3).map(|n| analysis("m", n, t3)).collect();
    expected.sort_by(|a, b| a.series_id.cmp(&b.series_id));
    let got = all(&store, &latest("m", true), 10).await;
    assert_eq!(got, expected);

    let mut want: Vec<AnalysisRow> = (1..=3)
        .flat_map(|n| [t1, t2, t3].map(|t| without_points(&analysis("m", n, t))))
        .collect();
    want.sort_by_key(|r| (r.series_id.clone(), r.analyzed_at_ms));
    assert_eq!(all(&store, &history("m", None, Some(i64::MAX)), 100).await, want);

    // A replay of everything, duplicated inside one batch, changes nothing.
    let replay: Vec<AnalysisRow> = (1..=3).flat_map(|n| [t2, t1, t3, t1].map(|t| analysis("m", n, t))).collect();
    store.upsert_analyses(&replay).await.unwrap();
    assert_eq!(all(&store, &latest("m", true), 10).await, expected);
    assert_eq!(all(&store, &history("m", None, Some(i64::MAX)), 100).await, want);
});

conformance!(an_analysis_without_points_keeps_the_stored_points, |store: Store| async move {
    let (t1, t2) = (1_700_000_000_000, 1_700_000_060_000);
    store.upsert_analyses(&[analysis("m", 1, t1)]).await.unwrap();
    store.upsert_analyses(&[without_points(&analysis("m", 1, t2))]).await.unwrap();
    let got = all(&store, &latest("m", true), 10).await;
    let expected = AnalysisRow {
        points: analysis("m", 1, t1).points,
        ..analysis("m", 1, t2)
    };
    assert_eq!(got, vec![expected]);
    // A replayed older analysis with points changes nothing.
    store.upsert_analyses(&[analysis("m", 1, t1)]).await.unwrap();
    assert_eq!(all(&store, &latest("m", true), 10).await[0].analyzed_at_ms, t2);
});

conformance!(history_honours_its_inclusive_time_range, |store: Store| async move {
    let times: Vec<i64> = (1..=5).map(|k| k * 1_000_000).collect();
    let rows: Vec<AnalysisRow> = [1, 2]
        .iter()
        .flat_map(|&n| times.iter().map(move |&t| analysis("range", n, t)))
        .collect();
    store.upsert_analyses(&rows).await.unwrap();
    store.upsert_analyses(&[analysis("elsewhere", 1, 3_000_000)]).await.unwrap();

    let expect = |from: i64, to: i64| {
        let mut want: Vec<(String, i64)> = rows
            .iter()
            .filter(|r| (from..=to).contains(&r.analyzed_at_ms))
            .map(|r| (r.series_id.clone(), r.analyzed_at_ms))
            .collect();
        want.sort();
        want
    };
    let cases = [
        (Some(2_000_000), None, expect(2_000_000, i64::MAX)),
        (None, Some(3_000_000), expect(i64::MIN, 3_000_000)),
        (Some(2_000_000), Some(4_000_000), expect(2_000_000, 4_000_000)),
        (Some(3_000_000), Some(3_000_000), expect(3_000_000, 3_000_000)),
        (Some(2_000_001), Some(2_999_999), Vec::new()),
        (Some(4_000_000), Some(2_000_000), Vec::new()),
        (Some(i64::MIN), Some(i64::MAX), expect(i64::MIN, i64::MAX)),
    ];
    for (from, to, want) in cases {
        for limit in [1, 3, 100] {
            let got = all(&store, &history("range", from, to), limit).await;
            assert_eq!(keys(&got), want, "from {from:?} to {to:?}, limit {limit}");
            assert!(got.iter().all(|r| r.points.is_empty() && r.metric == "range"));
        }
    }
    assert_eq!(expect(3_000_000, 3_000_000).len(), 2);
});

conformance!(pagination_walks_series_and_history_rows_once, |store: Store| async move {
    let mut rows = Vec::new();
    for n in 0..7 {
        for k in 0..4 {
            rows.push(analysis("paged", n, 1_000_000 + k * 60_000 + n as i64));
        }
    }
    for n in 0..3 {
        rows.push(analysis("noise", n, 1_000_000));
    }
    store.upsert_analyses(&rows).await.unwrap();

    let mut want_history: Vec<(String, i64)> = keys(&rows.iter().filter(|r| r.metric == "paged").cloned().collect::<Vec<_>>());
    want_history.sort();
    let mut want_latest: Vec<(String, i64)> = (0..7).map(|n| (id(n), 1_000_000 + 3 * 60_000 + n as i64)).collect();
    want_latest.sort();
    for limit in [1, 2, 3, 4, 5, 7, 27, 28, 1000] {
        let got = all(&store, &latest("paged", true), limit).await;
        assert_eq!(keys(&got), want_latest, "latest, limit {limit}");
        assert!(got.iter().all(|r| r.points.len() == 12));
        let got = all(&store, &history("paged", Some(0), None), limit).await;
        assert_eq!(keys(&got), want_history, "history, limit {limit}");
    }

    // A token round-trips: the page after it starts right after its last row.
    let query = history("paged", Some(0), None);
    let first = store.list_analyses(&query, &Page::first(5)).await.unwrap();
    let token = first.next.clone().unwrap();
    assert!(token.is_ascii());
    let second = store.list_analyses(&query, &Page::after(5, token.clone())).await.unwrap();
    assert_eq!(keys(&second.rows), want_history[5..10].to_vec());
    let again = store.list_analyses(&query, &Page::after(5, token.clone())).await.unwrap();
    assert_eq!(again, second);
    // The history token names a row inside a series: the next page resumes within it.
    assert_eq!(want_history[4].0, want_history[5].0);

    // Tokens of other listings, of the other mode or of another metric are refused.
    let series_token = {
        let catalog: Vec<SeriesRow> = (0..3)
            .map(|n| SeriesRow {
                series_id: id(n),
                metric: "paged".into(),
                labels: BTreeMap::new(),
                first_seen_ms: 1,
                last_seen_ms: 2,
            })
            .collect();
        store.upsert_series(&catalog).await.unwrap();
        let query = SeriesQuery {
            metric: Some("paged".into()),
        };
        store.list_series(&query, &Page::first(1)).await.unwrap().next.unwrap()
    };
    let latest_token = store
        .list_analyses(&latest("paged", false), &Page::first(2))
        .await
        .unwrap()
        .next
        .unwrap();
    let refused = [
        (latest("paged", false), series_token.clone()),
        (history("paged", Some(0), None), series_token.clone()),
        (history("paged", Some(0), None), latest_token.clone()),
        (latest("paged", false), token.clone()),
        (history("noise", Some(0), None), token.clone()),
        (latest("noise", false), latest_token.clone()),
        (latest("paged", false), "l.zz.0000000000000001".to_string()),
        (history("paged", Some(0), None), format!("{token}x")),
        (history("paged", Some(0), None), "not a token".to_string()),
    ];
    for (query, bad) in refused {
        let err = store.list_analyses(&query, &Page::after(5, bad.clone())).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidPage(_)) && !err.is_transient(), "{bad}: {err}");
    }
    for bad in [token, latest_token] {
        let err = store
            .list_series(&SeriesQuery::default(), &Page::after(5, bad.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidPage(_)), "{bad}: {err}");
        let query = AggregateQuery {
            metric: "paged".into(),
            window: None,
        };
        let err = store.list_aggregates(&query, &Page::after(5, bad.clone())).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidPage(_)), "{bad}: {err}");
    }
    let err = store.list_analyses(&latest("paged", false), &Page::first(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
});

conformance!(wipe_and_retention_cover_analyses, |store: Store| async move {
    let day = 86_400_000_i64;
    let now = 1_700_000_000_000_i64;
    let (old, older, fresh) = (now - 40 * day, now - 41 * day, now - day);
    let rows = [
        analysis("gone", 1, older),
        analysis("gone", 1, old),
        analysis("kept", 2, old),
        analysis("kept", 2, fresh),
    ];
    store.upsert_analyses(&rows).await.unwrap();
    let cutoff = now - 30 * day;
    let removed = store.delete_older_than(cutoff).await.unwrap();
    // History: the three old rows; latest: series 1's (its newest analysis is old too).
    assert_eq!(removed.analyses, 4, "{removed:?}");
    assert!(all(&store, &latest("gone", true), 10).await.is_empty());
    assert!(all(&store, &history("gone", Some(i64::MIN), None), 10).await.is_empty());
    assert_eq!(all(&store, &latest("kept", true), 10).await, vec![analysis("kept", 2, fresh)]);
    assert_eq!(
        all(&store, &history("kept", Some(i64::MIN), None), 10).await,
        vec![without_points(&analysis("kept", 2, fresh))]
    );
    assert_eq!(store.delete_older_than(cutoff).await.unwrap().analyses, 0);

    store.wipe().await.unwrap();
    assert!(all(&store, &latest("kept", true), 10).await.is_empty());
    assert!(all(&store, &history("kept", Some(i64::MIN), None), 10).await.is_empty());
    // A replay after the wipe writes the rows again.
    store.upsert_analyses(&rows[2..]).await.unwrap();
    assert_eq!(all(&store, &latest("kept", false), 10).await.len(), 1);
    assert_eq!(all(&store, &history("kept", Some(i64::MIN), None), 10).await.len(), 2);
});

conformance!(invalid_analyses_are_refused_whole, |store: Store| async move {
    let good = analysis("bad", 1, 5_000_000);
    let mut upper = analysis("bad", 2, 5_000_000);
    upper.series_id = upper.series_id.to_uppercase();
    let mut backwards = analysis("bad", 3, 5_000_000);
    backwards.window_start_ms = backwards.window_end_ms + 1;
    let mut no_metric = analysis("bad", 4, 5_000_000);
    no_metric.metric = String::new();
    let mut nan_compute = analysis("bad", 5, 5_000_000);
    nan_compute.compute_ms = f64::NAN;
    let mut nan_acf = analysis("bad", 6, 5_000_000);
    nan_acf.detail.autocorrelation.as_mut().unwrap().acf[1] = f64::NAN;
    let mut infinite_forecast = analysis("bad", 7, 5_000_000);
    infinite_forecast.detail.forecast.as_mut().unwrap().steps[0].upper = f64::INFINITY;
    let mut nan_point = analysis("bad", 8, 5_000_000);
    nan_point.points[3].seasonal = Some(f64::NAN);
    let mut nan_lambda = analysis("bad", 9, 5_000_000);
    nan_lambda.detail.hp_lambda = Some(f64::NAN);
    for bad in [
        upper,
        backwards,
        no_metric,
        nan_compute,
        nan_acf,
        infinite_forecast,
        nan_point,
        nan_lambda,
    ] {
        let err = store.upsert_analyses(&[good.clone(), bad.clone()]).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidRow(_)) && !err.is_transient(), "{bad:?}: {err}");
    }
    // Validation happens before anything is written.
    assert!(all(&store, &latest("bad", true), 10).await.is_empty());
    assert!(all(&store, &history("bad", Some(i64::MIN), None), 10).await.is_empty());
    store.upsert_analyses(std::slice::from_ref(&good)).await.unwrap();
    assert_eq!(all(&store, &latest("bad", true), 10).await, vec![good]);
});
