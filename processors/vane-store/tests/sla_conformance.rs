//! The SLA definitions and status read models, one behaviour on two backends (see
//! `tests/conformance.rs` for how the ScyllaDB half runs or skips): definitions guarded by
//! revision and found by id or live name; status upserts keep `since_ms` while the status stays,
//! ignore older events and take forecasts only on existing rows; status pages and deletion per
//! SLA. The history (violations, transitions, counts) is in `sla_history_conformance.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[macro_use]
mod common;
#[path = "common/sla.rs"]
mod fixtures;

use fixtures::*;
use vane_core::sla::SlaStatus;
use vane_store::{Page, SlaDefinitionRow, SlaStatusRow, Store, StoreError};

conformance!(definitions_keep_the_highest_revision, |store: Store| async move {
    let (a2, a1, a3) = (
        definition("a", "alpha", 2, false),
        definition("a", "alpha-old", 1, false),
        definition("a", "alpha3", 3, false),
    );
    store.upsert_sla_definitions(std::slice::from_ref(&a2)).await.unwrap();
    store.upsert_sla_definitions(std::slice::from_ref(&a1)).await.unwrap();
    assert_eq!(store.get_sla("a").await.unwrap(), Some(a2.clone()));
    assert_eq!(store.get_sla("alpha-old").await.unwrap(), None);
    // In one batch, in any order, the highest revision wins; the same revision again is a no-op.
    store
        .upsert_sla_definitions(&[a3.clone(), a1, a2.clone(), a3.clone()])
        .await
        .unwrap();
    assert_eq!(store.get_sla("a").await.unwrap(), Some(a3.clone()));
    assert_eq!(store.get_sla("alpha3").await.unwrap(), Some(a3.clone()));
    assert_eq!(store.get_sla("alpha").await.unwrap(), None);
    assert_eq!(store.list_slas(true).await.unwrap(), vec![a3]);
});

conformance!(slas_are_found_by_id_or_live_name_and_listed_by_name, |store: Store| async move {
    let live = [definition("id-2", "zeta", 1, false), definition("id-9", "beta", 4, false)];
    let gone = definition("id-1", "mid", 2, true);
    store.upsert_sla_definitions(&live).await.unwrap();
    store.upsert_sla_definitions(std::slice::from_ref(&gone)).await.unwrap();

    assert_eq!(store.get_sla("id-2").await.unwrap(), Some(live[0].clone()));
    assert_eq!(store.get_sla("beta").await.unwrap(), Some(live[1].clone()));
    // A deleted SLA is found by its id, never by its name.
    assert_eq!(store.get_sla("id-1").await.unwrap(), Some(gone.clone()));
    assert_eq!(store.get_sla("mid").await.unwrap(), None);
    assert_eq!(store.get_sla("nothing").await.unwrap(), None);

    let names = |rows: Vec<SlaDefinitionRow>| rows.into_iter().map(|r| r.definition.name).collect::<Vec<_>>();
    assert_eq!(names(store.list_slas(false).await.unwrap()), ["beta", "zeta"]);
    assert_eq!(names(store.list_slas(true).await.unwrap()), ["beta", "mid", "zeta"]);

    // A new SLA may take a deleted one's name; after a creation race, the first created wins.
    let reborn = definition("id-3", "mid", 1, false);
    let mut twin = definition("id-0", "mid", 1, false);
    twin.definition.created_at_ms = T0 + 5;
    store.upsert_sla_definitions(&[twin, reborn.clone()]).await.unwrap();
    assert_eq!(store.get_sla("mid").await.unwrap(), Some(reborn));
    assert_eq!(store.list_slas(false).await.unwrap().len(), 4);
});

conformance!(status_keeps_since_while_the_status_stays, |store: Store| async move {
    let s = "sla";
    store
        .upsert_sla_status(&[status(s, 1, SlaStatus::Ok, Some(1.0), T0)])
        .await
        .unwrap();
    store
        .upsert_sla_status(&[
            status(s, 1, SlaStatus::Ok, Some(2.0), T0 + 10),
            status(s, 1, SlaStatus::Pending, Some(9.0), T0 + 20),
            status(s, 1, SlaStatus::Pending, Some(9.5), T0 + 30),
        ])
        .await
        .unwrap();
    let row = &statuses(&store, Some(s), 10).await[0];
    assert_eq!(
        (row.status, row.since_ms, row.updated_ms, row.value),
        (SlaStatus::Pending, T0 + 20, T0 + 30, Some(9.5))
    );
    assert_eq!((row.metric.as_str(), &row.labels), ("m", &labels(1)));

    // Older events (a replay) change nothing, not even the value.
    let before = statuses(&store, Some(s), 10).await;
    store
        .upsert_sla_status(&[
            status(s, 1, SlaStatus::Ok, Some(0.0), T0),
            status(s, 1, SlaStatus::Violated, None, T0 + 29),
        ])
        .await
        .unwrap();
    assert_eq!(statuses(&store, Some(s), 10).await, before);

    // Same event again: idempotent. A new status moves since; no data has no value, NaN neither.
    store
        .upsert_sla_status(&[status(s, 1, SlaStatus::Pending, Some(9.5), T0 + 30)])
        .await
        .unwrap();
    assert_eq!(statuses(&store, Some(s), 10).await, before);
    store
        .upsert_sla_status(&[status(s, 1, SlaStatus::Violated, Some(f64::NAN), T0 + 40)])
        .await
        .unwrap();
    let row = &statuses(&store, Some(s), 10).await[0];
    assert_eq!((row.status, row.since_ms, row.value), (SlaStatus::Violated, T0 + 40, None));
    store
        .upsert_sla_status(&[status(s, 1, SlaStatus::NoData, None, T0 + 50)])
        .await
        .unwrap();
    let row = &statuses(&store, Some(s), 10).await[0];
    assert_eq!(
        (row.status, row.since_ms, row.updated_ms, row.value),
        (SlaStatus::NoData, T0 + 50, T0 + 50, None)
    );
    assert_eq!(
        (row.probability, row.probability_at_ms, row.horizon_ms, row.likely),
        (None, None, None, false)
    );
});

conformance!(forecasts_only_update_existing_rows_and_only_newer, |store: Store| async move {
    let s = "sla";
    // No row yet: the forecast is dropped, and creates nothing.
    store.upsert_sla_status(&[forecast(s, 1, 0.9, T0)]).await.unwrap();
    assert!(statuses(&store, None, 10).await.is_empty());

    store
        .upsert_sla_status(&[status(s, 1, SlaStatus::Ok, Some(1.0), T0), forecast(s, 1, 0.75, T0 + 100)])
        .await
        .unwrap();
    let row = statuses(&store, Some(s), 10).await[0].clone();
    assert_eq!(
        (row.probability, row.probability_at_ms, row.horizon_ms, row.likely),
        (Some(0.75), Some(T0 + 100), Some(600_000), true)
    );
    // An older forecast is ignored; a newer one replaces it; a status event leaves it alone.
    store.upsert_sla_status(&[forecast(s, 1, 0.1, T0 + 50)]).await.unwrap();
    assert_eq!(statuses(&store, Some(s), 10).await[0], row);
    store
        .upsert_sla_status(&[
            forecast(s, 1, 0.25, T0 + 200),
            status(s, 1, SlaStatus::Pending, Some(5.0), T0 + 150),
        ])
        .await
        .unwrap();
    let row = &statuses(&store, Some(s), 10).await[0];
    assert_eq!(
        (row.probability, row.probability_at_ms, row.likely),
        (Some(0.25), Some(T0 + 200), false)
    );
    assert_eq!((row.status, row.since_ms), (SlaStatus::Pending, T0 + 150));
});

conformance!(status_pages_by_sla_then_series_and_deletes_per_sla, |store: Store| async move {
    let mut updates = Vec::new();
    for sla in ["s-b", "s-a", "s-c"] {
        for n in 0..5 {
            updates.push(status(sla, n, SlaStatus::Ok, Some(n as f64), T0 + n as i64));
        }
    }
    store.upsert_sla_status(&updates).await.unwrap();
    let mut want: Vec<(String, String)> = updates
        .iter()
        .map(|u| (u.sla_id().to_string(), u.series_id().to_string()))
        .collect();
    want.sort();
    let keys = |rows: Vec<SlaStatusRow>| rows.into_iter().map(|r| (r.sla_id, r.series_id)).collect::<Vec<_>>();
    for limit in [1, 2, 4, 5, 7, 15, 100] {
        assert_eq!(keys(statuses(&store, None, limit).await), want, "limit {limit}");
        let one: Vec<_> = want.iter().filter(|(sla, _)| sla == "s-b").cloned().collect();
        assert_eq!(keys(statuses(&store, Some("s-b"), limit).await), one, "limit {limit}");
    }
    // A token of one SLA is refused for another, and status tokens by the history listings.
    let token = store.list_sla_status(Some("s-a"), &Page::first(2)).await.unwrap().next.unwrap();
    let err = store
        .list_sla_status(Some("s-b"), &Page::after(2, token.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
    let err = store
        .list_sla_violations(&range("s-a", None, None), &Page::after(2, token.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
    assert_eq!(store.list_sla_status(None, &Page::after(2, token)).await.unwrap().rows.len(), 2);

    store.delete_sla_status("s-a").await.unwrap();
    let left = keys(statuses(&store, None, 3).await);
    assert_eq!(left.len(), 10);
    assert!(left.iter().all(|(sla, _)| sla != "s-a"));
    assert!(statuses(&store, Some("s-a"), 3).await.is_empty());
});

conformance!(a_deleted_sla_gets_no_status_rows, |store: Store| async move {
    store.upsert_sla_definitions(&[definition("gone", "gone", 2, true)]).await.unwrap();
    store.upsert_sla_definitions(&[definition("live", "live", 1, false)]).await.unwrap();
    // A replay may bring the deletion before the SLA's old events: they must not come back.
    store
        .upsert_sla_status(&[
            status("gone", 1, SlaStatus::Violated, Some(1.0), T0),
            status("live", 1, SlaStatus::Ok, Some(1.0), T0),
        ])
        .await
        .unwrap();
    let rows = statuses(&store, None, 10).await;
    assert_eq!(rows.iter().map(|r| r.sla_id.as_str()).collect::<Vec<_>>(), ["live"]);
});
