//! The users and subscriptions read models, one behaviour on two backends (see
//! `tests/conformance.rs` for how the ScyllaDB half runs or skips): usernames claimed once even
//! under a race, users and subscriptions guarded by revision, link codes taken once and only
//! before they expire, subscriptions listed per user.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[macro_use]
mod common;

use vane_store::{LinkCodeRow, Store, SubscriptionConstraintRow, SubscriptionRow, UserRow};

fn user(id: &str, name: &str, revision: i64) -> UserRow {
    UserRow {
        user_id: id.into(),
        username: name.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        chat_id: None,
        time_zone: "Europe/Rome".into(),
        quiet_hours: Some("22:00-07:00".into()),
        cooldown_ms: 3_600_000,
        created_at_ms: 1_000,
        revision,
        deleted: false,
    }
}

fn subscription(id: &str, user_id: &str, created_at_ms: i64, revision: i64) -> SubscriptionRow {
    SubscriptionRow {
        subscription_id: id.into(),
        user_id: user_id.into(),
        city_name: Some("Catania".into()),
        country: Some("IT".into()),
        lat: None,
        lon: None,
        constraints: vec![
            SubscriptionConstraintRow {
                kind: "rain".into(),
                threshold: None,
            },
            SubscriptionConstraintRow {
                kind: "temp_above".into(),
                threshold: Some(30.5),
            },
        ],
        created_at_ms,
        updated_at_ms: created_at_ms,
        revision,
        deleted: false,
    }
}

conformance!(usernames_are_claimed_once_even_in_a_race, |store: Store| async move {
    assert!(store.claim_username("ada", "u1").await.unwrap());
    // The same claim again (a retry) is still this user's; another user's is refused.
    assert!(store.claim_username("ada", "u1").await.unwrap());
    assert!(!store.claim_username("ada", "u2").await.unwrap());

    let mut racers = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store.claim_username("grace", &format!("r{i}")).await.unwrap()
        }));
    }
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);

    // Released only by its holder; then free for anyone.
    store.release_username("ada", "u2").await.unwrap();
    assert!(!store.claim_username("ada", "u3").await.unwrap());
    store.release_username("ada", "u1").await.unwrap();
    assert!(store.claim_username("ada", "u3").await.unwrap());
});

conformance!(
    users_keep_the_highest_revision_and_are_found_by_username,
    |store: Store| async move {
        assert!(store.claim_username("ada", "u1").await.unwrap());
        // Claimed but not yet projected: no user to log in as.
        assert_eq!(store.get_user_by_username("ada").await.unwrap(), None);
        let (v1, mut v2) = (user("u1", "ada", 1), user("u1", "ada", 2));
        v2.chat_id = Some(42);
        store.upsert_users(std::slice::from_ref(&v2)).await.unwrap();
        store.upsert_users(std::slice::from_ref(&v1)).await.unwrap();
        assert_eq!(store.get_user("u1").await.unwrap(), Some(v2.clone()));
        assert_eq!(store.get_user_by_username("ada").await.unwrap(), Some(v2.clone()));
        assert_eq!(store.get_user_by_username("nobody").await.unwrap(), None);

        let mut gone = user("u1", "ada", 3);
        gone.deleted = true;
        store.upsert_users(std::slice::from_ref(&gone)).await.unwrap();
        assert_eq!(store.get_user("u1").await.unwrap(), Some(gone));
        assert_eq!(store.get_user_by_username("ada").await.unwrap(), None);
    }
);

conformance!(link_codes_are_taken_once_before_they_expire, |store: Store| async move {
    let code = LinkCodeRow {
        code: "Ab3_x-9QzR2kLm7P".into(),
        user_id: "u1".into(),
        expires_at_ms: 10_000,
    };
    store.put_link_code(&code).await.unwrap();
    assert_eq!(store.take_link_code(&code.code, 5_000).await.unwrap(), Some(code.clone()));
    assert_eq!(store.take_link_code(&code.code, 5_000).await.unwrap(), None);
    assert_eq!(store.take_link_code("unknown", 5_000).await.unwrap(), None);

    let late = LinkCodeRow {
        code: "late".into(),
        ..code
    };
    store.put_link_code(&late).await.unwrap();
    assert_eq!(store.take_link_code("late", 10_001).await.unwrap(), None);
    assert_eq!(store.take_link_code("late", 5_000).await.unwrap(), None);
});

conformance!(subscriptions_are_listed_per_user_by_revision, |store: Store| async move {
    let (a, b, c) = (
        subscription("s-b", "u1", 2_000, 1),
        subscription("s-a", "u1", 1_000, 1),
        subscription("s-c", "u2", 500, 1),
    );
    store.upsert_subscriptions(&[a.clone(), b.clone(), c.clone()]).await.unwrap();
    assert_eq!(store.list_subscriptions("u1").await.unwrap(), vec![b.clone(), a.clone()]);
    assert_eq!(store.list_subscriptions("u2").await.unwrap(), vec![c.clone()]);
    assert_eq!(store.list_subscriptions("u3").await.unwrap(), vec![]);

    let mut updated = subscription("s-b", "u1", 2_000, 3);
    updated.constraints.truncate(1);
    store.upsert_subscriptions(std::slice::from_ref(&updated)).await.unwrap();
    store.upsert_subscriptions(&[subscription("s-b", "u1", 2_000, 2)]).await.unwrap();
    assert_eq!(store.get_subscription("s-b").await.unwrap(), Some(updated.clone()));

    let mut deleted = updated;
    deleted.revision = 4;
    deleted.deleted = true;
    store.upsert_subscriptions(std::slice::from_ref(&deleted)).await.unwrap();
    assert_eq!(store.list_subscriptions("u1").await.unwrap(), vec![b]);
    assert_eq!(store.get_subscription("s-b").await.unwrap(), Some(deleted));
    assert_eq!(store.get_subscription("none").await.unwrap(), None);

    store.wipe().await.unwrap();
    assert_eq!(store.list_subscriptions("u2").await.unwrap(), vec![]);
});
