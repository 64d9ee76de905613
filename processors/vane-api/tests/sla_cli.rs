//! `vane sla ...` and `vane query sla|violations|budget` as the binary runs them ([`run_sla_with`],
//! [`run_query_at`]) against the real server: JSON and tables, the admin token, and the records
//! the changes leave on `vane.sla.definitions`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use clap::Parser;
use common::sla::{HOUR, MINUTE, NOW_MS, TOKEN, seed_reads, start};
use vane_api::{QueryArgs, SlaArgs, run_query_at, run_sla_with};

#[derive(Debug, Parser)]
struct SlaCli {
    #[command(flatten)]
    sla: SlaArgs,
}

#[derive(Debug, Parser)]
struct QueryCli {
    #[command(flatten)]
    query: QueryArgs,
}

async fn sla(server: &common::sla::SlaServer, token: Option<&str>, argv: &[&str]) -> Result<String, vane_api::ApiError> {
    let url = server.grpc_url();
    let mut full = vec!["vane"];
    full.extend_from_slice(argv);
    full.extend(["--grpc-addr", url.as_str()]);
    let args = SlaCli::try_parse_from(full).unwrap().sla;
    run_sla_with(&args, token.map(str::to_string)).await
}

async fn query(server: &common::sla::SlaServer, argv: &[&str]) -> Result<String, vane_api::ApiError> {
    let url = server.grpc_url();
    let mut full = vec!["vane"];
    full.extend_from_slice(argv);
    full.extend(["--grpc-addr", url.as_str()]);
    let args = QueryCli::try_parse_from(full).unwrap().query;
    run_query_at(&args, NOW_MS).await
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn sla_commands_create_update_list_and_delete() {
    let server = start(Some(TOKEN)).await;
    let create = [
        "create",
        "--name",
        "memory",
        "--metric",
        "node_memory_MemFree_bytes",
        "--label",
        "job=node",
        "--max",
        "1e9",
        "--for",
        "1m",
        "--chat-id",
        "-100",
        "--json",
    ];
    let error = sla(&server, None, &create).await.unwrap_err().to_string();
    assert!(error.contains("VANE_ADMIN_TOKEN"), "{error}");
    let error = sla(&server, Some("wrong"), &create).await.unwrap_err().to_string();
    assert!(error.contains("the admin token is wrong"), "{error}");

    let created = json(&sla(&server, Some(TOKEN), &create).await.unwrap());
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!((created["for"].as_str(), created["chat_id"].as_i64()), (Some("1m"), Some(-100)));

    let updated = json(
        &sla(
            &server,
            Some(TOKEN),
            &[
                "update",
                "memory",
                "--min",
                "-5",
                "--clear",
                "chat-id",
                "--severity",
                "info",
                "--json",
            ],
        )
        .await
        .unwrap(),
    );
    assert_eq!((updated["revision"].as_i64(), updated["min"].as_f64()), (Some(2), Some(-5.0)));
    assert!(updated["chat_id"].is_null());
    let table = sla(&server, None, &["list"]).await.unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("NAME"));
    assert!(
        lines[1].contains("memory") && lines[1].contains(&id) && lines[1].contains("[-5, 1000000000]") && lines[1].contains("info"),
        "{table}"
    );
    let listed = json(&sla(&server, None, &["list", "--json"]).await.unwrap());
    assert_eq!(listed, serde_json::json!([updated.clone()]));

    let error = sla(&server, Some(TOKEN), &["update", "memory", "--min", "2e9"])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("min 2000000000 is above max 1000000000"), "{error}");
    let error = sla(&server, Some(TOKEN), &["create", "--name", "memory", "--metric", "m", "--max", "1"])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("already exists"), "{error}");

    let deleted = sla(&server, Some(TOKEN), &["delete", &id]).await.unwrap();
    assert!(deleted.contains("memory (deleted)"), "{deleted}");
    assert!(sla(&server, None, &["list"]).await.unwrap().contains("no SLAs defined"));
    let with_deleted = json(&sla(&server, None, &["list", "--include-deleted", "--json"]).await.unwrap());
    assert_eq!(with_deleted[0]["deleted"], true);

    let records = server.definitions().await;
    let seen: Vec<(i64, bool)> = records.iter().map(|(_, e)| (e.definition.revision, e.deleted)).collect();
    assert_eq!(seen, [(1, false), (2, false), (3, true)]);
    assert_eq!(records[1].1.definition.min, Some(-5.0));
    assert_eq!(records[1].1.definition.chat_id, None);
    server.stop().await;
}

#[tokio::test]
async fn queries_print_status_violations_and_budget() {
    let server = start(Some(TOKEN)).await;
    let created = json(
        &sla(
            &server,
            Some(TOKEN),
            &[
                "create",
                "--name",
                "memory",
                "--metric",
                "node_memory_MemFree_bytes",
                "--max",
                "5",
                "--json",
            ],
        )
        .await
        .unwrap(),
    );
    let id = created["id"].as_str().unwrap();
    seed_reads(&server.store, id, "node_memory_MemFree_bytes").await;

    let status = json(&query(&server, &["sla", "--sla", "memory", "--json"]).await.unwrap());
    let statuses: Vec<&str> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "violated", "violated"]);
    assert_eq!(status[0]["metric"], "node_memory_MemFree_bytes");
    assert_eq!(status[0]["labels"]["instance"], "host-0");
    let every = json(&query(&server, &["sla", "--json"]).await.unwrap());
    assert_eq!(every.as_array().unwrap().len(), 3);
    let table = query(&server, &["sla"]).await.unwrap();
    assert!(table.starts_with("SLA") && table.contains("0.875 likely"), "{table}");

    let recent = json(
        &query(&server, &["violations", "--sla", "memory", "--since", "6h", "--json"])
            .await
            .unwrap(),
    );
    assert_eq!(recent.as_array().unwrap().len(), 5);
    let from = (NOW_MS - 3 * HOUR).to_string();
    let to = (NOW_MS - 11 * MINUTE).to_string();
    let between = json(
        &query(&server, &["violations", "--sla", id, "--from", &from, "--to", &to, "--json"])
            .await
            .unwrap(),
    );
    assert_eq!(between[0]["at"], NOW_MS - 2 * HOUR);
    assert_eq!(between.as_array().unwrap().len(), 1);
    let table = query(&server, &["violations", "--sla", "memory", "--since", "1h"]).await.unwrap();
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(table.contains("2025-12-31T23:50:00.000Z"), "{table}");

    let budget = json(&query(&server, &["budget", "--sla", "memory", "--json"]).await.unwrap());
    assert_eq!(
        (budget[0]["bad_slices"].as_u64(), budget[0]["sla"].as_str()),
        (Some(5), Some("memory"))
    );
    let all = json(&query(&server, &["budget", "--json"]).await.unwrap());
    assert_eq!(all, budget, "every SLA: the one there is");
    let table = query(&server, &["budget"]).await.unwrap();
    assert!(table.contains("memory") && table.contains("99%"), "{table}");

    for (argv, words) in [
        (vec!["violations", "--since", "1h"], "--sla is required"),
        (vec!["sla", "--since", "1h"], "do not apply to `vane query sla`"),
        (vec!["budget", "--metric", "m"], "--metric and --label do not apply"),
        (vec!["series", "--sla", "memory"], "--sla applies to"),
        (vec!["violations", "--sla", "nope"], "no SLA has the id or name \"nope\""),
    ] {
        let error = query(&server, &argv).await.unwrap_err().to_string();
        assert!(error.contains(words), "{argv:?}: {error}");
    }
    server.stop().await;
}
