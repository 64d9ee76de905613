//! The embedded store's SQL for users, username claims, link codes and subscriptions. The
//! `usernames` primary key is the arbiter of unique usernames: a claim is an `INSERT OR IGNORE`
//! followed by a read of the owner, in one transaction on the one writer connection.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::StoreError;
use crate::users::{LinkCodeRow, SubscriptionRow, UserRow, check_key, from_json, to_json};

const UPSERT_USER: &str = "INSERT INTO users (user_id, username, revision, deleted, detail)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (user_id) DO UPDATE SET
        username = excluded.username, revision = excluded.revision, deleted = excluded.deleted,
        detail = excluded.detail
    WHERE excluded.revision >= users.revision";

const UPSERT_SUBSCRIPTION: &str = "INSERT INTO subscriptions (subscription_id, user_id, revision, deleted, created_at_ms, detail)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    ON CONFLICT (subscription_id) DO UPDATE SET
        user_id = excluded.user_id, revision = excluded.revision, deleted = excluded.deleted,
        created_at_ms = excluded.created_at_ms, detail = excluded.detail
    WHERE excluded.revision >= subscriptions.revision";

pub(crate) fn claim_username(conn: &mut Connection, username: &str, user_id: &str) -> Result<bool, StoreError> {
    check_key("username", username)?;
    check_key("user id", user_id)?;
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT OR IGNORE INTO usernames (username, user_id) VALUES (?1, ?2)",
        params![username, user_id],
    )?;
    let owner: String = tx.query_row("SELECT user_id FROM usernames WHERE username = ?1", [username], |row| row.get(0))?;
    tx.commit()?;
    Ok(owner == user_id)
}

pub(crate) fn release_username(conn: &mut Connection, username: &str, user_id: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM usernames WHERE username = ?1 AND user_id = ?2",
        params![username, user_id],
    )?;
    Ok(())
}

pub(crate) fn upsert_users(conn: &mut Connection, rows: &[UserRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_USER)?;
        for row in rows {
            let json = to_json("user", &row.user_id, row)?;
            statement.execute(params![row.user_id, row.username, row.revision, row.deleted, json])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn get_user(conn: &Connection, user_id: &str) -> Result<Option<UserRow>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT detail FROM users WHERE user_id = ?1")?
        .query_row([user_id], |row| row.get(0))
        .optional()?;
    json.map(|json| from_json("user", &json)).transpose()
}

pub(crate) fn get_user_by_username(conn: &Connection, username: &str) -> Result<Option<UserRow>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached(
            "SELECT users.detail FROM usernames JOIN users ON users.user_id = usernames.user_id
             WHERE usernames.username = ?1 AND users.deleted = 0",
        )?
        .query_row([username], |row| row.get(0))
        .optional()?;
    json.map(|json| from_json("user", &json)).transpose()
}

pub(crate) fn put_link_code(conn: &mut Connection, row: &LinkCodeRow) -> Result<(), StoreError> {
    row.validate()?;
    conn.execute(
        "INSERT OR REPLACE INTO link_codes (code, user_id, expires_at_ms) VALUES (?1, ?2, ?3)",
        params![row.code, row.user_id, row.expires_at_ms],
    )?;
    Ok(())
}

pub(crate) fn take_link_code(conn: &mut Connection, code: &str, now_ms: i64) -> Result<Option<LinkCodeRow>, StoreError> {
    let tx = conn.transaction()?;
    let found = tx
        .query_row(
            "SELECT code, user_id, expires_at_ms FROM link_codes WHERE code = ?1",
            [code],
            |row| {
                Ok(LinkCodeRow {
                    code: row.get(0)?,
                    user_id: row.get(1)?,
                    expires_at_ms: row.get(2)?,
                })
            },
        )
        .optional()?;
    // Used or expired, a code is gone; expired ones found elsewhere are left for the next take.
    tx.execute(
        "DELETE FROM link_codes WHERE code = ?1 OR expires_at_ms < ?2",
        params![code, now_ms],
    )?;
    tx.commit()?;
    Ok(found.filter(|row| row.expires_at_ms >= now_ms))
}

pub(crate) fn upsert_subscriptions(conn: &mut Connection, rows: &[SubscriptionRow]) -> Result<(), StoreError> {
    for row in rows {
        row.validate()?;
    }
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(UPSERT_SUBSCRIPTION)?;
        for row in rows {
            let json = to_json("subscription", &row.subscription_id, row)?;
            statement.execute(params![
                row.subscription_id,
                row.user_id,
                row.revision,
                row.deleted,
                row.created_at_ms,
                json
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn get_subscription(conn: &Connection, subscription_id: &str) -> Result<Option<SubscriptionRow>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT detail FROM subscriptions WHERE subscription_id = ?1")?
        .query_row([subscription_id], |row| row.get(0))
        .optional()?;
    json.map(|json| from_json("subscription", &json)).transpose()
}

pub(crate) fn list_subscriptions(conn: &Connection, user_id: &str) -> Result<Vec<SubscriptionRow>, StoreError> {
    let mut statement =
        conn.prepare_cached("SELECT detail FROM subscriptions WHERE user_id = ?1 AND deleted = 0 ORDER BY created_at_ms, subscription_id")?;
    let found = statement.query_map([user_id], |row| row.get::<_, String>(0))?;
    let mut rows = Vec::new();
    for json in found {
        rows.push(from_json("subscription", &json?)?);
    }
    Ok(rows)
}

pub(crate) fn wipe(tx: &Transaction<'_>) -> Result<(), StoreError> {
    for table in ["users", "usernames", "link_codes", "subscriptions"] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}
