//! Rough upsert and query throughput of the embedded store, for docs/benchmarks.md:
//! `cargo run --release -p vane-store --example upsert_throughput [DIR]`. Not a test.

use std::collections::BTreeMap;
use std::time::Instant;

use vane_store::{AggregateQuery, AggregateRow, Page, Store, StoreError};

const SERIES: u64 = 10_000;
const ROUNDS: i64 = 10;

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| std::env::temp_dir().join("vane-store-bench"), Into::into);
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open_embedded(&dir)?;
    store.migrate().await?;
    let mut written = 0_u64;
    let start = Instant::now();
    for round in 0..ROUNDS {
        let mut batch = Vec::with_capacity(5000);
        for n in 0..SERIES {
            for window in ["1h", "3h", "12h"] {
                batch.push(row(n, window, 1_700_000_000_000 + round * 15_000));
                if batch.len() == 5000 {
                    store.upsert_aggregates(&batch).await?;
                    written += batch.len() as u64;
                    batch.clear();
                }
            }
        }
        store.upsert_aggregates(&batch).await?;
        written += batch.len() as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "upserted {written} aggregate rows in {elapsed:.2}s: {:.0} rows/s",
        written as f64 / elapsed
    );

    let query = AggregateQuery {
        metric: "node_load1".into(),
        window: Some("1h".into()),
    };
    let start = Instant::now();
    let pages = 2000;
    for _ in 0..pages {
        store.list_aggregates(&query, &Page::first(100)).await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{pages} pages of 100 rows in {elapsed:.2}s: {:.0} µs per page",
        elapsed * 1e6 / f64::from(pages)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn row(n: u64, window: &str, as_of_ms: i64) -> AggregateRow {
    AggregateRow {
        series_id: format!("{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        metric: "node_load1".into(),
        labels: BTreeMap::from([("instance".to_string(), format!("host-{n}:9100")), ("job".into(), "node".into())]),
        window: window.to_string(),
        max: 3.0,
        min: 1.0,
        mean: 2.0,
        std: Some(0.5),
        count: 240,
        first_ms: as_of_ms - 3_600_000,
        last_ms: as_of_ms,
        as_of_ms,
    }
}
