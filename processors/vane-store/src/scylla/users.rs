//! The ScyllaDB backend's users, username claims, link codes and subscriptions (tables in
//! `cql.rs`, migration 4). Users and subscriptions are written `USING TIMESTAMP revision`, so the
//! highest revision wins whatever order writes arrive in. Username claims and link-code takes are
//! lightweight transactions: `INSERT ... IF NOT EXISTS` on `usernames` lets exactly one of two
//! racing claims in, and `DELETE ... IF EXISTS` on `link_codes` lets exactly one take redeem a
//! code. Reads that decide after a transaction use SERIAL consistency, so they see its outcome.

use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, Row};

use super::ScyllaStore;
use super::cql;
use super::rows::write_batches;
use crate::StoreError;
use crate::users::{LinkCodeRow, SubscriptionRow, UserRow, check_key, from_json, to_json};

/// The prepared statements of the user tables.
#[derive(Debug)]
pub(super) struct Statements {
    insert_user: PreparedStatement,
    get_user: PreparedStatement,
    claim_username: PreparedStatement,
    username_owner: PreparedStatement,
    release_username: PreparedStatement,
    insert_link_code: PreparedStatement,
    get_link_code: PreparedStatement,
    take_link_code: PreparedStatement,
    insert_subscription: PreparedStatement,
    insert_user_subscription: PreparedStatement,
    get_subscription: PreparedStatement,
    user_subscriptions: PreparedStatement,
}

impl Statements {
    pub(super) async fn prepare(store: &ScyllaStore) -> Result<Statements, StoreError> {
        let serial = |mut statement: PreparedStatement| {
            statement.set_consistency(Consistency::Serial);
            statement
        };
        Ok(Statements {
            insert_user: store.prepare("insert user", cql::INSERT_USER).await?,
            get_user: store.prepare("get user", cql::GET_USER).await?,
            claim_username: store.prepare("claim username", cql::CLAIM_USERNAME).await?,
            username_owner: serial(store.prepare("read username owner", cql::USERNAME_OWNER).await?),
            release_username: store.prepare("release username", cql::RELEASE_USERNAME).await?,
            insert_link_code: store.prepare("insert link code", cql::INSERT_LINK_CODE).await?,
            get_link_code: serial(store.prepare("read link code", cql::GET_LINK_CODE).await?),
            take_link_code: store.prepare("take link code", cql::TAKE_LINK_CODE).await?,
            insert_subscription: store.prepare("insert subscription", cql::INSERT_SUBSCRIPTION).await?,
            insert_user_subscription: store.prepare("insert user subscription", cql::INSERT_USER_SUBSCRIPTION).await?,
            get_subscription: store.prepare("get subscription", cql::GET_SUBSCRIPTION).await?,
            user_subscriptions: store.prepare("list user subscriptions", cql::USER_SUBSCRIPTIONS).await?,
        })
    }
}

/// Whether a lightweight transaction applied: its result's first column is `[applied]`.
async fn applied(
    store: &ScyllaStore,
    what: &'static str,
    statement: &PreparedStatement,
    values: impl scylla::serialize::row::SerializeRow,
) -> Result<bool, StoreError> {
    let rows: Vec<Row> = store.select(what, statement, values).await?;
    let flag = rows.first().and_then(|row| row.columns.first());
    Ok(matches!(flag, Some(Some(CqlValue::Boolean(true)))))
}

pub(super) async fn claim_username(store: &ScyllaStore, username: &str, user_id: &str) -> Result<bool, StoreError> {
    check_key("username", username)?;
    check_key("user id", user_id)?;
    let statements = &store.prepared().await?.users;
    if applied(store, "claim username", &statements.claim_username, (username, user_id)).await? {
        return Ok(true);
    }
    // Not applied: someone holds it, perhaps this very user (a retried claim).
    let owner: Vec<(String,)> = store.select("read username owner", &statements.username_owner, (username,)).await?;
    Ok(owner.first().is_some_and(|(owner,)| owner == user_id))
}

pub(super) async fn release_username(store: &ScyllaStore, username: &str, user_id: &str) -> Result<(), StoreError> {
    let statements = &store.prepared().await?.users;
    applied(store, "release username", &statements.release_username, (username, user_id)).await?;
    Ok(())
}

pub(super) async fn upsert_users(store: &ScyllaStore, rows: &[UserRow]) -> Result<(), StoreError> {
    let mut values = Vec::with_capacity(rows.len());
    for row in rows {
        row.validate()?;
        let json = to_json("user", &row.user_id, row)?;
        values.push((
            row.user_id.clone(),
            row.username.clone(),
            row.revision,
            row.deleted,
            json,
            row.revision,
        ));
    }
    let statements = &store.prepared().await?.users;
    write_batches(store, "upsert users", &statements.insert_user, vec![values]).await
}

pub(super) async fn get_user(store: &ScyllaStore, user_id: &str) -> Result<Option<UserRow>, StoreError> {
    let statements = &store.prepared().await?.users;
    let found: Vec<(String,)> = store.select("get user", &statements.get_user, (user_id,)).await?;
    found.first().map(|(json,)| from_json("user", json)).transpose()
}

pub(super) async fn get_user_by_username(store: &ScyllaStore, username: &str) -> Result<Option<UserRow>, StoreError> {
    let statements = &store.prepared().await?.users;
    let owner: Vec<(String,)> = store.select("read username owner", &statements.username_owner, (username,)).await?;
    let Some((user_id,)) = owner.first() else {
        return Ok(None);
    };
    Ok(get_user(store, user_id)
        .await?
        .filter(|user| !user.deleted && user.username == username))
}

pub(super) async fn put_link_code(store: &ScyllaStore, row: &LinkCodeRow) -> Result<(), StoreError> {
    row.validate()?;
    let statements = &store.prepared().await?.users;
    store
        .select::<Row>(
            "insert link code",
            &statements.insert_link_code,
            (&row.code, &row.user_id, row.expires_at_ms),
        )
        .await?;
    Ok(())
}

pub(super) async fn take_link_code(store: &ScyllaStore, code: &str, now_ms: i64) -> Result<Option<LinkCodeRow>, StoreError> {
    let statements = &store.prepared().await?.users;
    let found: Vec<(String, i64)> = store.select("read link code", &statements.get_link_code, (code,)).await?;
    let Some((user_id, expires_at_ms)) = found.into_iter().next() else {
        return Ok(None);
    };
    if !applied(store, "take link code", &statements.take_link_code, (code,)).await? {
        return Ok(None);
    }
    let row = LinkCodeRow {
        code: code.to_string(),
        user_id,
        expires_at_ms,
    };
    Ok(Some(row).filter(|row| row.expires_at_ms >= now_ms))
}

pub(super) async fn upsert_subscriptions(store: &ScyllaStore, rows: &[SubscriptionRow]) -> Result<(), StoreError> {
    let mut by_id = Vec::with_capacity(rows.len());
    let mut by_user = Vec::with_capacity(rows.len());
    for row in rows {
        row.validate()?;
        let json = to_json("subscription", &row.subscription_id, row)?;
        by_id.push((
            row.subscription_id.clone(),
            row.user_id.clone(),
            row.revision,
            row.deleted,
            json.clone(),
            row.revision,
        ));
        by_user.push((row.user_id.clone(), row.subscription_id.clone(), row.deleted, json, row.revision));
    }
    let statements = &store.prepared().await?.users;
    write_batches(store, "upsert subscriptions", &statements.insert_subscription, vec![by_id]).await?;
    write_batches(
        store,
        "upsert user subscriptions",
        &statements.insert_user_subscription,
        vec![by_user],
    )
    .await
}

pub(super) async fn get_subscription(store: &ScyllaStore, subscription_id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    let statements = &store.prepared().await?.users;
    let found: Vec<(String,)> = store
        .select("get subscription", &statements.get_subscription, (subscription_id,))
        .await?;
    found.first().map(|(json,)| from_json("subscription", json)).transpose()
}

pub(super) async fn list_subscriptions(store: &ScyllaStore, user_id: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
    let statements = &store.prepared().await?.users;
    let found: Vec<(String, Option<bool>)> = store
        .select("list user subscriptions", &statements.user_subscriptions, (user_id,))
        .await?;
    let mut rows: Vec<SubscriptionRow> = Vec::with_capacity(found.len());
    for (json, deleted) in found {
        if deleted.unwrap_or(false) {
            continue;
        }
        rows.push(from_json("subscription", &json)?);
    }
    rows.sort_by(|a, b| (a.created_at_ms, &a.subscription_id).cmp(&(b.created_at_ms, &b.subscription_id)));
    Ok(rows)
}
