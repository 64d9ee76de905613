//! Behaviour only the embedded backend has: a file that outlives the process, and readers that
//! run beside the writer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use vane_store::sqlite::SqliteStore;
use vane_store::{AggregateQuery, AggregateRow, Page, SeriesQuery, SeriesRow, Store};

fn series(n: u64) -> SeriesRow {
    SeriesRow {
        series_id: format!("{n:016x}"),
        metric: "node_load1".into(),
        labels: BTreeMap::from([("instance".to_string(), format!("h{n}"))]),
        first_seen_ms: 1_000,
        last_seen_ms: 2_000 + n as i64,
    }
}

fn aggregate(n: u64, as_of_ms: i64) -> AggregateRow {
    AggregateRow {
        series_id: format!("{n:016x}"),
        metric: "node_load1".into(),
        labels: BTreeMap::new(),
        window: "1h".into(),
        max: 2.0,
        min: 1.0,
        mean: 1.5,
        std: Some(0.5),
        count: 2,
        first_ms: as_of_ms - 10,
        last_ms: as_of_ms,
        as_of_ms,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_survives_reopening_and_migrations_run_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.schema_version().await.unwrap(), 0);
        let version = store.migrate().await.unwrap();
        assert!(version >= 1);
        store.upsert_series(&[series(1), series(2)]).await.unwrap();
        store.upsert_aggregates(&[aggregate(1, 5_000)]).await.unwrap();
        assert_eq!(store.path(), dir.path().join("store.sqlite"));
    }
    let store = Store::open_embedded(dir.path()).unwrap();
    let version = store.migrate().await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), version);
    let got = store.list_series(&SeriesQuery::default(), &Page::first(10)).await.unwrap();
    assert_eq!(got.rows, vec![series(1), series(2)]);
    let query = AggregateQuery {
        metric: "node_load1".into(),
        window: Some("1h".into()),
    };
    let got = store.list_aggregates(&query, &Page::first(10)).await.unwrap();
    assert_eq!(got.rows, vec![aggregate(1, 5_000)]);
    // A reopened store still refuses to go back in time.
    store.upsert_aggregates(&[aggregate(1, 4_000)]).await.unwrap();
    let got = store.list_aggregates(&query, &Page::first(10)).await.unwrap();
    assert_eq!(got.rows, vec![aggregate(1, 5_000)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.migrate().await.unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
}

/// A batch is one transaction: readers running beside the writer see all of it or none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_whole_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_embedded(dir.path()).unwrap();
    store.migrate().await.unwrap();
    let batches: Vec<Vec<SeriesRow>> = (0..10).map(|b| (0..500).map(|i| series(b * 500 + i)).collect()).collect();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for batch in batches {
                store.upsert_series(&batch).await.unwrap();
            }
        })
    };
    let mut readers = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..20 {
                let page = store.list_series(&SeriesQuery::default(), &Page::first(10_000)).await.unwrap();
                seen.push(page.rows.len());
                tokio::task::yield_now().await;
            }
            seen
        }));
    }
    writer.await.unwrap();
    for reader in readers {
        for count in reader.await.unwrap() {
            assert_eq!(count % 500, 0, "a reader saw part of a batch: {count} rows");
        }
    }
    let all = store.list_series(&SeriesQuery::default(), &Page::first(10_000)).await.unwrap();
    assert_eq!(all.rows.len(), 5000);
}
