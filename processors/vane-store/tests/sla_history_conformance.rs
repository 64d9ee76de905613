//! The SLA history read models, one behaviour on two backends (see `tests/conformance.rs` for
//! how the ScyllaDB half runs or skips): violations and transitions are idempotent, listed by
//! inclusive time range over several pages (and days) with tokens that resume and are refused
//! elsewhere, and counted (samples, episodes, bad time slices); retention and wipe of every SLA
//! read model; invalid rows refused whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[macro_use]
mod common;
#[path = "common/sla.rs"]
mod fixtures;

use fixtures::*;
use vane_core::sla::SlaStatus;
use vane_store::{Page, SlaCounts, SlaViolationRow, Store, StoreError};

conformance!(violations_and_transitions_are_idempotent_and_ranged, |store: Store| async move {
    let s = "sla";
    let times: Vec<i64> = (0..12).map(|k| T0 + k * 3_600_000 + k).collect(); // over two days
    let mut rows = Vec::new();
    for &at in &times {
        for n in [3, 1, 2] {
            rows.push(violation(s, n, at));
        }
    }
    rows.push(violation("other", 1, times[3]));
    store.upsert_sla_violations(&rows).await.unwrap();
    // The same rows again, reversed and duplicated: still one row per key.
    let mut again = rows.clone();
    again.reverse();
    again.extend(rows.iter().take(5).cloned());
    store.upsert_sla_violations(&again).await.unwrap();

    let key = |r: &SlaViolationRow| (r.at_ms, r.series_id.clone());
    let expect = |from: i64, to: i64| {
        let mut want: Vec<SlaViolationRow> = rows
            .iter()
            .filter(|r| r.sla_id == s && (from..=to).contains(&r.at_ms))
            .cloned()
            .collect();
        want.sort_by_key(key);
        want
    };
    let cases = [
        (None, None, expect(i64::MIN, i64::MAX)),
        (Some(times[2]), None, expect(times[2], i64::MAX)),
        (None, Some(times[7]), expect(i64::MIN, times[7])),
        (Some(times[3]), Some(times[3]), expect(times[3], times[3])),
        (Some(times[3] + 1), Some(times[4] - 1), Vec::new()),
        (Some(times[5]), Some(times[1]), Vec::new()),
    ];
    for (from, to, want) in cases {
        for limit in [1, 2, 3, 5, 36, 100] {
            let got = violations(&store, &range(s, from, to), limit).await;
            assert_eq!(got, want, "from {from:?} to {to:?}, limit {limit}");
        }
    }
    assert_eq!(expect(times[3], times[3]).len(), 3);
    assert_eq!(violations(&store, &range("other", None, None), 10).await.len(), 1);

    let mut moves = Vec::new();
    for (k, &at) in times.iter().enumerate() {
        let (from, to) = if k % 2 == 0 {
            (Some(SlaStatus::Pending), SlaStatus::Violated)
        } else {
            (Some(SlaStatus::Violated), SlaStatus::Ok)
        };
        moves.push(transition(s, 1, at, from, to));
    }
    moves.push(transition(s, 2, times[0], None, SlaStatus::Pending));
    moves[0].value = None;
    store.upsert_sla_transitions(&moves).await.unwrap();
    store.upsert_sla_transitions(&moves).await.unwrap();
    let mut want = moves.clone();
    want.sort_by_key(|r| (r.at_ms, r.series_id.clone()));
    for limit in [1, 4, 13, 50] {
        assert_eq!(transitions(&store, &range(s, None, None), limit).await, want, "limit {limit}");
    }
    let mid = transitions(&store, &range(s, Some(times[4]), Some(times[6])), 2).await;
    assert_eq!(mid.iter().map(|r| r.at_ms).collect::<Vec<_>>(), times[4..=6]);

    // Tokens: resumable, and refused by the other listing or for another SLA.
    let first = store.list_sla_violations(&range(s, None, None), &Page::first(4)).await.unwrap();
    let token = first.next.unwrap();
    let second = store
        .list_sla_violations(&range(s, None, None), &Page::after(4, token.clone()))
        .await
        .unwrap();
    assert_eq!(second.rows, expect(i64::MIN, i64::MAX)[4..8].to_vec());
    for (query, bad) in [
        (range(s, None, None), "v.zz.0000000000000001.5".to_string()),
        (range("other", None, None), token.clone()),
    ] {
        let err = store.list_sla_violations(&query, &Page::after(4, bad)).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
    }
    let err = store
        .list_sla_transitions(&range(s, None, None), &Page::after(4, token))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidPage(_)), "{err}");
});

conformance!(counts_give_samples_episodes_and_bad_slices, |store: Store| async move {
    let s = "sla";
    let minute = 60_000;
    let base = T0 - T0 % minute;
    // Minute 0: three samples of two series; minute 1: none; minute 2: one; minute 5: two.
    let rows = vec![
        violation(s, 1, base),
        violation(s, 2, base),
        violation(s, 1, base + 59_999),
        violation(s, 1, base + 2 * minute + 5),
        violation(s, 1, base + 5 * minute),
        violation(s, 2, base + 5 * minute + 1),
        violation("other", 1, base + minute),
    ];
    store.upsert_sla_violations(&rows).await.unwrap();
    store.upsert_sla_violations(&rows).await.unwrap();
    let moves = vec![
        transition(s, 1, base - 1, Some(SlaStatus::Ok), SlaStatus::Pending),
        transition(s, 1, base, Some(SlaStatus::Pending), SlaStatus::Violated),
        transition(s, 1, base + minute, Some(SlaStatus::Violated), SlaStatus::Ok),
        transition(s, 1, base + 5 * minute, Some(SlaStatus::Ok), SlaStatus::Violated),
        transition(s, 2, base, None, SlaStatus::Violated),
        transition("other", 1, base, None, SlaStatus::Violated),
    ];
    store.upsert_sla_transitions(&moves).await.unwrap();

    let counts = |violating_samples, episodes, bad_slices| SlaCounts {
        violating_samples,
        episodes,
        bad_slices,
    };
    assert_eq!(store.sla_counts(&range(s, None, None), minute).await.unwrap(), counts(6, 3, 3));
    assert_eq!(
        store
            .sla_counts(&range(s, Some(base), Some(base + 2 * minute + 5)), minute)
            .await
            .unwrap(),
        counts(4, 2, 2)
    );
    assert_eq!(
        store
            .sla_counts(&range(s, Some(base + 1), Some(base + 5 * minute)), minute)
            .await
            .unwrap(),
        counts(3, 1, 3)
    );
    assert_eq!(store.sla_counts(&range(s, None, None), 10 * minute).await.unwrap(), counts(6, 3, 1));
    assert_eq!(
        store.sla_counts(&range(s, Some(base + 1), Some(base + 100)), minute).await.unwrap(),
        counts(0, 0, 0)
    );
    assert_eq!(
        store.sla_counts(&range("nothing", None, None), minute).await.unwrap(),
        SlaCounts::default()
    );
    let err = store.sla_counts(&range(s, None, None), 0).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidQuery(_)) && !err.is_transient(), "{err}");
});

conformance!(retention_and_wipe_cover_the_sla_models, |store: Store| async move {
    let day = 86_400_000_i64;
    let cutoff = T0 - 30 * day;
    let (old, fresh) = (cutoff - day, cutoff + day);
    store.upsert_sla_definitions(&[definition("s", "s", 1, false)]).await.unwrap();
    store
        .upsert_sla_status(&[
            status("s", 1, SlaStatus::NoData, Some(1.0), old),
            status("s", 2, SlaStatus::Violated, Some(1.0), fresh),
            // Ok since long ago: still the current status, kept.
            status("s", 3, SlaStatus::Ok, Some(1.0), old),
        ])
        .await
        .unwrap();
    store
        .upsert_sla_violations(&[
            violation("s", 1, old - 1),
            violation("s", 1, cutoff - 1),
            violation("s", 1, cutoff),
            violation("s", 2, fresh),
        ])
        .await
        .unwrap();
    store
        .upsert_sla_transitions(&[
            transition("s", 1, old, None, SlaStatus::Ok),
            transition("s", 2, fresh, None, SlaStatus::Violated),
        ])
        .await
        .unwrap();

    let removed = store.delete_older_than(cutoff).await.unwrap();
    assert_eq!(
        (removed.sla_status, removed.sla_violations, removed.sla_transitions),
        (1, 2, 1),
        "{removed:?}"
    );
    assert_eq!(
        statuses(&store, None, 10)
            .await
            .iter()
            .map(|r| r.series_id.clone())
            .collect::<Vec<_>>(),
        [id(2), id(3)]
    );
    let left = violations(&store, &range("s", None, None), 10).await;
    assert_eq!(left.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [cutoff, fresh]);
    assert_eq!(transitions(&store, &range("s", None, None), 10).await.len(), 1);
    // Definitions are never aged out.
    assert!(store.get_sla("s").await.unwrap().is_some());
    let again = store.delete_older_than(cutoff).await.unwrap();
    assert_eq!((again.sla_status, again.sla_violations, again.sla_transitions), (0, 0, 0));

    store.wipe().await.unwrap();
    assert!(store.list_slas(true).await.unwrap().is_empty());
    assert!(statuses(&store, None, 10).await.is_empty());
    assert!(violations(&store, &range("s", None, None), 10).await.is_empty());
    assert!(transitions(&store, &range("s", None, None), 10).await.is_empty());
    // A replay after the wipe writes the rows again.
    store.upsert_sla_definitions(&[definition("s", "s", 1, false)]).await.unwrap();
    store.upsert_sla_violations(&[violation("s", 2, fresh)]).await.unwrap();
    store
        .upsert_sla_status(&[status("s", 2, SlaStatus::Violated, Some(1.0), fresh)])
        .await
        .unwrap();
    assert_eq!(store.list_slas(false).await.unwrap().len(), 1);
    assert_eq!(violations(&store, &range("s", None, None), 10).await.len(), 1);
    assert_eq!(statuses(&store, Some("s"), 10).await.len(), 1);
});

conformance!(invalid_sla_rows_are_refused_whole, |store: Store| async move {
    let good = violation("s", 1, T0);
    let mut upper = violation("s", 2, T0);
    upper.series_id = upper.series_id.to_uppercase();
    let mut no_sla = violation("s", 3, T0);
    no_sla.sla_id = String::new();
    for bad in [upper, no_sla] {
        let err = store.upsert_sla_violations(&[good.clone(), bad.clone()]).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidRow(_)) && !err.is_transient(), "{bad:?}: {err}");
    }
    assert!(violations(&store, &range("s", None, None), 10).await.is_empty());
    let mut nan_value = violation("s", 4, T0);
    nan_value.value = f64::NAN;
    store.upsert_sla_violations(&[nan_value]).await.unwrap();
    assert!(violations(&store, &range("s", None, None), 10).await[0].value.is_nan());

    let err = store
        .upsert_sla_status(&[status("s", 1, SlaStatus::Ok, None, T0), forecast("s", 1, 2.0, T0)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidRow(_)), "{err}");
    assert!(statuses(&store, None, 10).await.is_empty());
    let mut bad = definition("s", "s", 1, false);
    bad.definition.max = Some(f64::INFINITY);
    let err = store
        .upsert_sla_definitions(&[definition("t", "t", 1, false), bad])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidRow(_)), "{err}");
    assert!(store.list_slas(true).await.unwrap().is_empty());
});
