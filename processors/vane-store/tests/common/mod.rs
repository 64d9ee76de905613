//! What the conformance suites share: the macro that runs one test body against both backends,
//! and the ScyllaDB half's keyspace per test (or its skip, with the reason, when
//! `VANE_TEST_SCYLLA_URI` is not set).

use std::future::Future;

use vane_store::Store;

/// Runs `$body(store)` on both backends, on a migrated, empty store.
macro_rules! conformance {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let dir = tempfile::tempdir().unwrap();
                let store = vane_store::Store::open_embedded(dir.path()).unwrap();
                store.migrate().await.unwrap();
                ($body)(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn scylla() {
                crate::common::with_scylla(stringify!($name), $body).await;
            }
        }
    };
}

pub async fn with_scylla<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(uri) = std::env::var("VANE_TEST_SCYLLA_URI") else {
        eprintln!("SKIPPED {test} on ScyllaDB: VANE_TEST_SCYLLA_URI is not set (start one with infra/compose)");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let keyspace = format!("vane_test_{}_{nanos}", std::process::id());
    let store = Store::connect_scylla(&uri, &keyspace).await.unwrap();
    store.migrate().await.unwrap();
    body(store.clone()).await;
    if let Store::Scylla(scylla) = &store {
        scylla.drop_keyspace().await.unwrap();
    }
}
