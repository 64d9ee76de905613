//! One behaviour, two backends: every test here runs against the embedded store (a temporary
//! directory) and against ScyllaDB when `VANE_TEST_SCYLLA_URI` is set (each test in a keyspace of
//! its own, dropped at the end); without it the ScyllaDB half says that it skipped and why.

// Helpers outside #[test] functions are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::collections::BTreeMap;

use vane_store::{AggregateQuery, AggregateRow, Page, Paged, SeriesQuery, SeriesRow, Store, StoreError};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn id(n: u64) -> String {
    format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn series(metric: &str, n: u64, first_seen_ms: i64, last_seen_ms: i64) -> SeriesRow {
    SeriesRow {
        series_id: id(n),
        metric: metric.to_string(),
        labels: labels(&[("instance", &format!("host-{n}:9100")), ("job", "node")]),
        first_seen_ms,
        last_seen_ms,
    }
}

fn aggregate(metric: &str, n: u64, window: &str, as_of_ms: i64, count: u64) -> AggregateRow {
    let base = as_of_ms as f64 / 1000.0 + n as f64;
    AggregateRow {
        series_id: id(n),
        metric: metric.to_string(),
        labels: labels(&[("instance", &format!("host-{n}:9100"))]),
        window: window.to_string(),
        max: base + 10.0,
        min: base - 10.0,
        mean: base,
        std: if count > 1 { Some(1.5 + count as f64) } else { None },
        count,
        first_ms: as_of_ms - 3_600_000 + 1,
        last_ms: as_of_ms,
        as_of_ms,
    }
}

/// Every series row of a listing, following tokens; checks that every page but the last is full.
async fn all_series(store: &Store, query: &SeriesQuery, limit: u32) -> Vec<SeriesRow> {
    let mut rows = Vec::new();
    let mut page = Page::first(limit);
    loop {
        let Paged { rows: got, next } = store.list_series(query, &page).await.unwrap();
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

async fn all_aggregates(store: &Store, query: &AggregateQuery, limit: u32) -> Vec<AggregateRow> {
    let mut rows = Vec::new();
    let mut page = Page::first(limit);
    loop {
        let Paged { rows: got, next } = store.list_aggregates(query, &page).await.unwrap();
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

fn by_metric(metric: &str) -> SeriesQuery {
    SeriesQuery {
        metric: Some(metric.to_string()),
    }
}

fn in_window(metric: &str, window: Option<&str>) -> AggregateQuery {
    AggregateQuery {
        metric: metric.to_string(),
        window: window.map(str::to_string),
    }
}

/// A small deterministic generator (xorshift64*), so a failing order can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

conformance!(rows_read_back_as_written, |store: Store| async move {
    let written: Vec<SeriesRow> = (0..5).map(|n| series("node_load1", n, 1_000 + n as i64, 9_000)).collect();
    store.upsert_series(&written).await.unwrap();
    let aggregates: Vec<AggregateRow> = (0..5).map(|n| aggregate("node_load1", n, "1h", 9_000_000, n + 1)).collect();
    store.upsert_aggregates(&aggregates).await.unwrap();

    let mut expected = written.clone();
    expected.sort_by(|a, b| a.series_id.cmp(&b.series_id));
    let page = store.list_series(&by_metric("node_load1"), &Page::first(100)).await.unwrap();
    assert_eq!((page.rows, page.next), (expected.clone(), None));
    assert_eq!(all_series(&store, &SeriesQuery::default(), 100).await, expected);
    assert!(
        store
            .list_series(&by_metric("other"), &Page::first(10))
            .await
            .unwrap()
            .rows
            .is_empty()
    );

    let mut expected = aggregates.clone();
    expected.sort_by(|a, b| a.series_id.cmp(&b.series_id));
    assert_eq!(all_aggregates(&store, &in_window("node_load1", Some("1h")), 100).await, expected);
    assert_eq!(all_aggregates(&store, &in_window("node_load1", None), 100).await, expected);
    assert!(all_aggregates(&store, &in_window("node_load1", Some("3h")), 100).await.is_empty());
    store.ping().await.unwrap();
});

conformance!(replaying_a_batch_changes_nothing, |store: Store| async move {
    let written: Vec<SeriesRow> = (0..50).map(|n| series("up", n, 1_000, 2_000 + n as i64)).collect();
    let aggregates: Vec<AggregateRow> = (0..50)
        .flat_map(|n| ["1h", "3h"].map(|w| aggregate("up", n, w, 5_000_000 + n as i64, 7)))
        .collect();
    store.upsert_series(&written).await.unwrap();
    store.upsert_aggregates(&aggregates).await.unwrap();
    let series_once = all_series(&store, &SeriesQuery::default(), 1000).await;
    let aggregates_once = all_aggregates(&store, &in_window("up", None), 1000).await;
    assert_eq!((series_once.len(), aggregates_once.len()), (50, 100));

    // A replay of the same batch, and a redelivery with the batch duplicated inside it.
    store.upsert_series(&written).await.unwrap();
    store.upsert_aggregates(&aggregates).await.unwrap();
    let doubled: Vec<SeriesRow> = written.iter().chain(written.iter()).cloned().collect();
    store.upsert_series(&doubled).await.unwrap();
    let doubled: Vec<AggregateRow> = aggregates.iter().chain(aggregates.iter()).cloned().collect();
    store.upsert_aggregates(&doubled).await.unwrap();
    assert_eq!(all_series(&store, &SeriesQuery::default(), 1000).await, series_once);
    assert_eq!(all_aggregates(&store, &in_window("up", None), 1000).await, aggregates_once);
});

conformance!(older_rows_never_overwrite_newer_ones_in_any_order, |store: Store| async move {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for order in 0..12 {
        let metric = format!("m_{order}");
        // Versions of 4 series in 2 windows: as_of moves on, and for one as_of a late sample
        // raised the count; plus sightings of each series in the catalog.
        let mut aggregates = Vec::new();
        let mut sightings = Vec::new();
        for n in 0..4 {
            for window in ["1h", "12h"] {
                for step in 0..5_i64 {
                    aggregates.push(aggregate(&metric, n, window, 1_700_000_000_000 + step * 15_000, 10 + step as u64));
                }
                aggregates.push(aggregate(&metric, n, window, 1_700_000_000_000 + 4 * 15_000, 20));
            }
            for step in 0..6_i64 {
                sightings.push(series(&metric, n, 1_000_000 + step * 7, 2_000_000 + step * 11));
            }
        }
        rng.shuffle(&mut aggregates);
        rng.shuffle(&mut sightings);
        // Write in batches of random sizes, so that some versions meet inside one batch.
        let mut rest = &aggregates[..];
        while !rest.is_empty() {
            let take = 1 + (rng.next() % 6) as usize;
            let (batch, tail) = rest.split_at(take.min(rest.len()));
            store.upsert_aggregates(batch).await.unwrap();
            rest = tail;
        }
        let mut rest = &sightings[..];
        while !rest.is_empty() {
            let take = 1 + (rng.next() % 4) as usize;
            let (batch, tail) = rest.split_at(take.min(rest.len()));
            store.upsert_series(batch).await.unwrap();
            rest = tail;
        }

        let got = all_aggregates(&store, &in_window(&metric, None), 100).await;
        assert_eq!(got.len(), 8, "order {order}");
        for row in &got {
            assert_eq!(
                (row.as_of_ms, row.count),
                (1_700_000_000_000 + 60_000, 20),
                "order {order}: {row:?}"
            );
            assert_eq!(
                row,
                &aggregate(
                    &metric,
                    (0..4).find(|n| id(*n) == row.series_id).unwrap(),
                    &row.window,
                    row.as_of_ms,
                    20
                )
            );
        }
        let got = all_series(&store, &by_metric(&metric), 100).await;
        assert_eq!(got.len(), 4, "order {order}");
        for row in &got {
            assert_eq!(
                (row.first_seen_ms, row.last_seen_ms),
                (1_000_000, 2_000_055),
                "order {order}: {row:?}"
            );
        }
    }
});

conformance!(pagination_visits_every_row_once_in_a_stable_order, |store: Store| async move {
    let metrics = ["node_cpu_seconds_total", "node_load1", "up"];
    let mut written = Vec::new();
    let mut aggregates = Vec::new();
    for (m, metric) in metrics.iter().enumerate() {
        for n in 0..(20 + m as u64 * 3) {
            written.push(series(metric, n, 1, 2));
            for window in ["12h", "1h", "3h"] {
                aggregates.push(aggregate(metric, n, window, 3_600_000, 5));
            }
        }
    }
    store.upsert_series(&written).await.unwrap();
    store.upsert_aggregates(&aggregates).await.unwrap();

    let mut expected: Vec<(String, String)> = written.iter().map(|r| (r.metric.clone(), r.series_id.clone())).collect();
    expected.sort();
    for limit in [1, 7, 23, 26, 1000] {
        let got: Vec<(String, String)> = all_series(&store, &SeriesQuery::default(), limit)
            .await
            .into_iter()
            .map(|r| (r.metric, r.series_id))
            .collect();
        assert_eq!(got, expected, "all metrics, limit {limit}");
        let got: Vec<String> = all_series(&store, &by_metric("node_load1"), limit)
            .await
            .into_iter()
            .map(|r| r.series_id)
            .collect();
        let want: Vec<String> = expected
            .iter()
            .filter(|(m, _)| m == "node_load1")
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(got, want, "one metric, limit {limit}");

        let got: Vec<(String, String)> = all_aggregates(&store, &in_window("up", None), limit)
            .await
            .into_iter()
            .map(|r| (r.window, r.series_id))
            .collect();
        let mut want: Vec<(String, String)> = aggregates
            .iter()
            .filter(|r| r.metric == "up")
            .map(|r| (r.window.clone(), r.series_id.clone()))
            .collect();
        want.sort();
        assert_eq!(got, want, "all windows, limit {limit}");
        let got: Vec<String> = all_aggregates(&store, &in_window("up", Some("3h")), limit)
            .await
            .into_iter()
            .map(|r| r.series_id)
            .collect();
        let want: Vec<String> = want.iter().filter(|(w, _)| w == "3h").map(|(_, id)| id.clone()).collect();
        assert_eq!(got, want, "one window, limit {limit}");
    }

    // Bad pages are refused as such, not read from somewhere else.
    let err = store.list_series(&SeriesQuery::default(), &Page::first(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)) && !err.is_transient(), "{err}");
    let err = store
        .list_series(&SeriesQuery::default(), &Page::after(5, "not a token"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
    let token = store.list_series(&by_metric("up"), &Page::first(2)).await.unwrap().next.unwrap();
    let err = store
        .list_series(&by_metric("node_load1"), &Page::after(2, token.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
    let err = store
        .list_aggregates(&in_window("up", None), &Page::after(2, token))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
});

conformance!(null_std_and_labels_round_trip, |store: Store| async move {
    let odd = labels(&[("path", "/a,b=c\"d'"), ("ünïcode", "✓ värde"), ("empty", ""), ("__name__x", "{}")]);
    let mut one = aggregate("odd", 1, "1h", 1_000_000, 1);
    one.labels = odd.clone();
    let mut two = aggregate("odd", 2, "1h", 1_000_000, 2);
    two.labels = BTreeMap::new();
    two.std = Some(0.0);
    let mut three = aggregate("odd", 3, "1h", 1_000_000, 3);
    three.max = f64::MAX;
    three.min = -1e-300;
    three.std = Some(f64::MIN_POSITIVE);
    store.upsert_aggregates(&[one.clone(), two.clone(), three.clone()]).await.unwrap();
    let mut expected = vec![one, two, three];
    expected.sort_by(|a, b| a.series_id.cmp(&b.series_id));
    let got = all_aggregates(&store, &in_window("odd", Some("1h")), 10).await;
    assert_eq!(got, expected);
    assert!(got.iter().any(|r| r.std.is_none() && r.count == 1));

    let mut s = series("odd", 1, 5, 6);
    s.labels = odd;
    let mut bare = series("odd", 2, 5, 6);
    bare.labels = BTreeMap::new();
    store.upsert_series(&[s.clone(), bare.clone()]).await.unwrap();
    let mut expected = vec![s, bare];
    expected.sort_by(|a, b| a.series_id.cmp(&b.series_id));
    assert_eq!(all_series(&store, &by_metric("odd"), 10).await, expected);
});

conformance!(invalid_rows_are_refused_whole, |store: Store| async move {
    let good = aggregate("bad", 1, "1h", 1_000, 2);
    let mut nan = aggregate("bad", 2, "1h", 1_000, 2);
    nan.mean = f64::NAN;
    let err = store.upsert_aggregates(&[good.clone(), nan]).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidRow(_)) && !err.is_transient(), "{err}");
    let mut upper = series("bad", 1, 1, 2);
    upper.series_id = upper.series_id.to_uppercase();
    assert!(matches!(
        store.upsert_series(&[series("bad", 2, 1, 2), upper]).await,
        Err(StoreError::InvalidRow(_))
    ));
    // Validation happens before anything is written.
    assert!(all_aggregates(&store, &in_window("bad", None), 10).await.is_empty());
    assert!(all_series(&store, &by_metric("bad"), 10).await.is_empty());
});

conformance!(wipe_empties_every_read_model, |store: Store| async move {
    store.upsert_series(&[series("a", 1, 1, 2), series("b", 2, 1, 2)]).await.unwrap();
    store.upsert_aggregates(&[aggregate("a", 1, "1h", 10_000, 3)]).await.unwrap();
    store.wipe().await.unwrap();
    assert!(all_series(&store, &SeriesQuery::default(), 10).await.is_empty());
    assert!(all_aggregates(&store, &in_window("a", None), 10).await.is_empty());
    // A replay after the wipe writes the rows again, even though they are old.
    store.upsert_aggregates(&[aggregate("a", 1, "1h", 10_000, 3)]).await.unwrap();
    store.upsert_series(&[series("a", 1, 1, 2)]).await.unwrap();
    assert_eq!(all_aggregates(&store, &in_window("a", None), 10).await.len(), 1);
    assert_eq!(all_series(&store, &SeriesQuery::default(), 10).await.len(), 1);
});

conformance!(
    retention_deletes_only_rows_not_updated_since_the_cutoff,
    |store: Store| async move {
        let day = 86_400_000_i64;
        let now = 1_700_000_000_000_i64;
        let old = now - 40 * day;
        let fresh = now - day;
        store
            .upsert_series(&[
                series("old", 1, old - day, old),
                series("mixed", 2, old, old),
                series("mixed", 3, old, fresh),
            ])
            .await
            .unwrap();
        store
            .upsert_aggregates(&[
                aggregate("old", 1, "1h", old, 4),
                aggregate("mixed", 2, "1h", old, 4),
                aggregate("mixed", 3, "1h", fresh, 4),
                aggregate("mixed", 3, "12h", old, 4),
            ])
            .await
            .unwrap();
        let removed = store.delete_older_than(now - 30 * day).await.unwrap();
        assert_eq!((removed.series, removed.aggregates), (2, 3));

        let left: Vec<(String, String)> = all_series(&store, &SeriesQuery::default(), 10)
            .await
            .into_iter()
            .map(|r| (r.metric, r.series_id))
            .collect();
        assert_eq!(left, vec![("mixed".to_string(), id(3))]);
        let left = all_aggregates(&store, &in_window("mixed", None), 10).await;
        assert_eq!(left, vec![aggregate("mixed", 3, "1h", fresh, 4)]);
        assert!(all_aggregates(&store, &in_window("old", None), 10).await.is_empty());
        // A series seen again after retention is back.
        store.upsert_series(&[series("old", 1, now, now)]).await.unwrap();
        assert_eq!(all_series(&store, &by_metric("old"), 10).await, vec![series("old", 1, now, now)]);
        assert_eq!(store.delete_older_than(now - 30 * day).await.unwrap().series, 0);
    }
);

conformance!(migration_is_idempotent, |store: Store| async move {
    store.upsert_series(&[series("kept", 1, 1, 2)]).await.unwrap();
    let first = store.migrate().await.unwrap();
    let second = store.migrate().await.unwrap();
    assert!(first >= 1);
    assert_eq!(first, second);
    assert_eq!(all_series(&store, &SeriesQuery::default(), 10).await, vec![series("kept", 1, 1, 2)]);
});
