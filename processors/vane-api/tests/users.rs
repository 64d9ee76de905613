//! `vane.v1.Users` and `vane.v1.Subscriptions` against the real server on an embedded store and
//! an embedded log in a temporary directory: registration (duplicate names refused, also when
//! two registrations race), login (a clear error for a wrong password, refused for a while after
//! repeated failures), expired tokens refused, "rain in Catania" subscribed and listed only for its
//! owner, another user's subscription NOT_FOUND, link codes redeemed once, and an account's
//! deletion taking its subscriptions with it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::Code;
use tonic::transport::Channel;
use vane_api::pb;
use vane_api::pb::subscriptions_client::SubscriptionsClient;
use vane_api::pb::users_client::UsersClient;
use vane_api::{ApiOptions, UsersApi};
use vane_store::Store;
use vane_stream::Log;
use vane_stream::embedded::{EmbeddedConfig, EmbeddedLog};
use vane_stream::runner::Clock;
use vane_stream::topics::TopicLayout;

const NOW_MS: i64 = 1_767_225_600_000;
const TTL_MS: i64 = 3_600_000;
const PASSWORD: &str = "correct horse battery";

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Fixture {
    log: Log,
    users: UsersClient<Channel>,
    subscriptions: SubscriptionsClient<Channel>,
    api: UsersApi,
    store: Store,
    clock: Arc<TestClock>,
    grpc_addr: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start(jwt_key: Option<&str>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_embedded(dir.path().join("store")).unwrap();
    store.migrate().await.unwrap();
    let log = Log::Embedded(EmbeddedLog::open(EmbeddedConfig::new(dir.path().join("log"))).unwrap());
    log.ensure_topics(&TopicLayout::default().specs()).await.unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(NOW_MS)));
    let api = UsersApi::new(store.clone(), log.clone(), jwt_key.map(str::to_string), TTL_MS, clock.clone()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(vane_api::serve_with(
        store.clone(),
        listener,
        ApiOptions::default().with_users(api.clone()),
        async move {
            let _ = stopped.await;
        },
    ));
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    Fixture {
        log,
        users: UsersClient::new(channel.clone()),
        subscriptions: SubscriptionsClient::new(channel),
        api,
        store,
        clock,
        grpc_addr: addr.to_string(),
        _stop: stop,
        _dir: dir,
    }
}

fn register(username: &str) -> pb::RegisterRequest {
    pb::RegisterRequest {
        username: username.into(),
        password: PASSWORD.into(),
        time_zone: "Europe/Rome".into(),
        quiet_hours: "23:00-07:00".into(),
        ..Default::default()
    }
}

fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn rain_in_catania() -> pb::CreateSubscriptionRequest {
    pb::CreateSubscriptionRequest {
        spec: Some(pb::SubscriptionSpec {
            city_name: "Catania".into(),
            country: "IT".into(),
            constraints: vec![pb::WeatherConstraint {
                kind: "rain".into(),
                threshold: None,
            }],
            ..Default::default()
        }),
    }
}

async fn login(f: &mut Fixture, username: &str) -> String {
    let request = pb::LoginRequest {
        username: username.into(),
        password: PASSWORD.into(),
    };
    f.users.login(request).await.unwrap().into_inner().token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_unique_and_login_is_guarded() {
    let mut f = start(Some("a-test-key-that-is-long-enough-0123")).await;
    let ada = f.users.register(register("ada")).await.unwrap().into_inner();
    assert_eq!(
        (ada.username.as_str(), ada.time_zone.as_str(), ada.revision),
        ("ada", "Europe/Rome", 1)
    );
    let stored = f.store.get_user(&ada.user_id).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));

    let duplicate = f.users.register(register("ada")).await.unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists, "{duplicate:?}");
    assert!(duplicate.message().contains("taken"), "{}", duplicate.message());

    // Every problem at once.
    let bad = pb::RegisterRequest {
        username: "a!".into(),
        password: "short".into(),
        time_zone: "Mars/Olympus".into(),
        ..Default::default()
    };
    let status = f.users.register(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    for part in ["username", "password", "Mars/Olympus"] {
        assert!(status.message().contains(part), "{part}: {}", status.message());
    }

    // Two registrations race for one name: exactly one wins.
    let mut racers = Vec::new();
    for _ in 0..2 {
        let mut client = f.users.clone();
        racers.push(tokio::spawn(async move { client.register(register("grace")).await }));
    }
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap().map(|_| ()).map_err(|status| status.code()));
    }
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.contains(&Err(Code::AlreadyExists)), "{outcomes:?}");

    // A wrong password: a clear error; after five, refused for a while, then allowed again.
    let wrong = || pb::LoginRequest {
        username: "ada".into(),
        password: "not the password".into(),
    };
    for _ in 0..5 {
        let status = f.users.login(wrong()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "wrong username or password");
    }
    let status = f.users.login(wrong()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("retry in"), "{}", status.message());
    let right = pb::LoginRequest {
        username: "ada".into(),
        password: PASSWORD.into(),
    };
    assert_eq!(f.users.login(right.clone()).await.unwrap_err().code(), Code::ResourceExhausted);
    f.clock.0.fetch_add(1_000, Ordering::SeqCst);
    let token = f.users.login(right).await.unwrap().into_inner();
    assert_eq!(token.user_id, ada.user_id);
    assert_eq!(token.expires_at_ms, NOW_MS + 1_000 + TTL_MS);

    // The token works until it expires.
    let code = f
        .users
        .create_link_code(bearer(pb::CreateLinkCodeRequest {}, &token.token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code.code.len(), 16);
    f.clock.0.fetch_add(TTL_MS, Ordering::SeqCst);
    let expired = f
        .users
        .create_link_code(bearer(pb::CreateLinkCodeRequest {}, &token.token))
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert!(expired.message().contains("expired"), "{}", expired.message());
    let missing = f.users.create_link_code(pb::CreateLinkCodeRequest {}).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);

    // The link code expired with the clock; a fresh one links the chat, once.
    let late = f.api.redeem_link_code(&code.code, 77).await.unwrap_err().to_string();
    assert!(late.contains("expired"), "{late}");
    let token = login(&mut f, "ada").await;
    let code = f
        .users
        .create_link_code(bearer(pb::CreateLinkCodeRequest {}, &token))
        .await
        .unwrap()
        .into_inner();
    let linked = f.api.redeem_link_code(&code.code, 77).await.unwrap();
    assert_eq!((linked.chat_id, linked.revision), (Some(77), 2));
    assert!(f.api.redeem_link_code(&code.code, 78).await.is_err());

    // A password change needs the current password and retires the tokens issued before it.
    let change = |current: &str| pb::ChangePasswordRequest {
        current_password: current.into(),
        new_password: "an even better passphrase".into(),
    };
    let wrong = f.users.change_password(bearer(change("nope nope nope"), &token)).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let changed = f
        .users
        .change_password(bearer(change(PASSWORD), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.revision, 3);
    let stale = f
        .users
        .create_link_code(bearer(pb::CreateLinkCodeRequest {}, &token))
        .await
        .unwrap_err();
    assert!(stale.message().contains("password changed"), "{}", stale.message());
    let relogin = pb::LoginRequest {
        username: "ada".into(),
        password: "an even better passphrase".into(),
    };
    let token = f.users.login(relogin).await.unwrap().into_inner().token;
    f.users
        .create_link_code(bearer(pb::CreateLinkCodeRequest {}, &token))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_private_and_go_with_the_account() {
    let mut f = start(Some("a-test-key-that-is-long-enough-0123")).await;
    f.users.register(register("ada")).await.unwrap();
    f.users.register(register("bob")).await.unwrap();
    let (ada, bob) = (login(&mut f, "ada").await, login(&mut f, "bob").await);

    let rain = f.subscriptions.create(bearer(rain_in_catania(), &ada)).await.unwrap().into_inner();
    assert_eq!(
        (rain.city_name.as_str(), rain.country.as_str(), rain.revision),
        ("Catania", "IT", 1)
    );
    assert_eq!(rain.constraints[0].kind, "rain");
    let mut cold = rain_in_catania();
    cold.spec.as_mut().unwrap().constraints = vec![pb::WeatherConstraint {
        kind: "temp_below".into(),
        threshold: Some(0.0),
    }];
    f.subscriptions.create(bearer(cold, &bob)).await.unwrap();

    let list = |token: &str| bearer(pb::ListSubscriptionsRequest {}, token);
    let mine = f.subscriptions.list(list(&ada)).await.unwrap().into_inner().subscriptions;
    assert_eq!(mine.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [rain.id.as_str()]);
    let theirs = f.subscriptions.list(list(&bob)).await.unwrap().into_inner().subscriptions;
    assert_eq!(theirs.len(), 1);
    assert_ne!(theirs[0].id, rain.id);

    // Bob can neither delete nor change Ada's subscription: for him it does not exist.
    let delete = pb::DeleteSubscriptionRequest { id: rain.id.clone() };
    assert_eq!(
        f.subscriptions.delete(bearer(delete.clone(), &bob)).await.unwrap_err().code(),
        Code::NotFound
    );
    let update = pb::UpdateSubscriptionRequest {
        id: rain.id.clone(),
        spec: rain_in_catania().spec,
    };
    assert_eq!(
        f.subscriptions.update(bearer(update.clone(), &bob)).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(f.subscriptions.update(bearer(update, &ada)).await.unwrap().into_inner().revision, 2);

    // An invalid subscription lists its problems.
    let mut invalid = rain_in_catania();
    invalid.spec.as_mut().unwrap().constraints.push(pb::WeatherConstraint {
        kind: "hail".into(),
        threshold: None,
    });
    let status = f.subscriptions.create(bearer(invalid, &ada)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("hail"), "{}", status.message());

    // Deleting Ada's account deletes her subscription; Bob's stays; her token stops working and
    // her name is free again.
    let gone = f
        .users
        .delete_account(bearer(pb::DeleteAccountRequest {}, &ada))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gone.subscriptions_deleted, 1);
    let tombstone = f.store.get_subscription(&rain.id).await.unwrap().unwrap();
    assert!(tombstone.deleted);
    assert_eq!(tombstone.revision, 3);
    assert!(f.store.list_subscriptions(&gone.user_id).await.unwrap().is_empty());
    assert_eq!(f.subscriptions.list(list(&ada)).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(f.subscriptions.list(list(&bob)).await.unwrap().into_inner().subscriptions.len(), 1);
    f.users.register(register("ada")).await.unwrap();

    // The events alone rebuild what the API wrote through: the projector's replay into a fresh
    // store gives the same rows, and the same claims.
    let dir = tempfile::tempdir().unwrap();
    let rebuilt = Store::open_embedded(dir.path()).unwrap();
    let report = vane_projector::replay(&f.log, &rebuilt).await.unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
    assert_eq!(
        rebuilt.get_user(&gone.user_id).await.unwrap(),
        f.store.get_user(&gone.user_id).await.unwrap()
    );
    let bob_user = f.store.get_user_by_username("bob").await.unwrap().unwrap();
    assert_eq!(rebuilt.get_user_by_username("bob").await.unwrap(), Some(bob_user.clone()));
    assert_eq!(
        rebuilt.list_subscriptions(&bob_user.user_id).await.unwrap(),
        f.store.list_subscriptions(&bob_user.user_id).await.unwrap()
    );
    assert_eq!(rebuilt.get_subscription(&rain.id).await.unwrap(), Some(tombstone));
    let new_ada = f.store.get_user_by_username("ada").await.unwrap().unwrap();
    assert_eq!(rebuilt.get_user_by_username("ada").await.unwrap(), Some(new_ada));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_jwt_key_user_calls_are_refused_with_the_reason() {
    let mut f = start(None).await;
    let status = f.users.register(register("ada")).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("auth.jwt_secret"), "{}", status.message());
    let status = f.subscriptions.list(pb::ListSubscriptionsRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

/// The CLI's functions against the same server: register, login (plain and JSON), subscribe,
/// list, unsubscribe, link code and delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_functions_drive_the_whole_flow() {
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct User {
        #[command(flatten)]
        args: vane_api::UserArgs,
    }
    #[derive(Debug, Parser)]
    struct Subscribe {
        #[command(flatten)]
        args: vane_api::SubscribeArgs,
    }
    #[derive(Debug, Parser)]
    struct Subscriptions {
        #[command(flatten)]
        args: vane_api::SubscriptionsArgs,
    }
    #[derive(Debug, Parser)]
    struct Unsubscribe {
        #[command(flatten)]
        args: vane_api::UnsubscribeArgs,
    }

    let f = start(Some("a-test-key-that-is-long-enough-0123")).await;
    let addr = f.grpc_addr.clone();
    let user = |argv: &[&str]| {
        let mut all = vec!["vane", "--grpc-addr", addr.as_str()];
        all.extend_from_slice(argv);
        User::try_parse_from(all).unwrap().args
    };
    let out = vane_api::run_user(&user(&["register", "--username", "ada", "--password", PASSWORD]))
        .await
        .unwrap();
    assert!(out.starts_with("ada ("), "{out}");
    let token = vane_api::run_user(&user(&["login", "--username", "ada", "--password", PASSWORD]))
        .await
        .unwrap();
    let token = token.trim().to_string();
    let json = vane_api::run_user(&user(&["--json", "login", "--username", "ada", "--password", PASSWORD]))
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        json["token"].as_str().is_some() && json["expires_at_ms"].as_i64().is_some(),
        "{json}"
    );

    let with = |argv: &[&str]| {
        let mut all = vec!["vane", "--grpc-addr", addr.as_str(), "--token", token.as_str()];
        all.extend_from_slice(argv);
        all.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let subscribe = Subscribe::try_parse_from(with(&["--city", "Catania", "--country", "IT", "--rain"])).unwrap();
    let out = vane_api::run_subscribe(&subscribe.args).await.unwrap();
    assert!(out.contains("Catania, IT") && out.contains("rain"), "{out}");
    let listed = Subscriptions::try_parse_from(with(&["--json"])).unwrap();
    let rows: serde_json::Value = serde_json::from_str(&vane_api::run_subscriptions(&listed.args).await.unwrap()).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    let id = rows[0]["id"].as_str().unwrap().to_string();
    let unsubscribe = Unsubscribe::try_parse_from(with(&[id.as_str()])).unwrap();
    assert!(
        vane_api::run_unsubscribe(&unsubscribe.args)
            .await
            .unwrap()
            .starts_with("unsubscribed")
    );
    let again = vane_api::run_unsubscribe(&unsubscribe.args).await.unwrap_err().to_string();
    assert!(again.contains("no subscription"), "{again}");
    let listed = Subscriptions::try_parse_from(with(&[])).unwrap();
    assert!(
        vane_api::run_subscriptions(&listed.args)
            .await
            .unwrap()
            .starts_with("no subscriptions")
    );

    let settings = User::try_parse_from(with(&[
        "--json",
        "settings",
        "--time-zone",
        "Asia/Tokyo",
        "--quiet-hours",
        "22:00-06:00",
        "--cooldown-minutes",
        "30",
    ]))
    .unwrap();
    let changed: serde_json::Value = serde_json::from_str(&vane_api::run_user(&settings.args).await.unwrap()).unwrap();
    assert_eq!(changed["time_zone"], "Asia/Tokyo");
    assert_eq!(changed["quiet_hours"], "22:00-06:00");
    assert_eq!(changed["cooldown_ms"], 1_800_000);
    let bad = User::try_parse_from(with(&["settings", "--quiet-hours", "late"])).unwrap();
    let error = vane_api::run_user(&bad.args).await.unwrap_err().to_string();
    assert!(error.contains("HH:MM-HH:MM"), "{error}");
    let cleared = User::try_parse_from(with(&["--json", "settings", "--quiet-hours", ""])).unwrap();
    let cleared: serde_json::Value = serde_json::from_str(&vane_api::run_user(&cleared.args).await.unwrap()).unwrap();
    assert!(cleared["quiet_hours"].is_null(), "{cleared}");

    let code = vane_api::run_user(&User::try_parse_from(with(&["link-code"])).unwrap().args)
        .await
        .unwrap();
    assert!(code.contains("/start "), "{code}");
    let out = vane_api::run_user(&User::try_parse_from(with(&["delete"])).unwrap().args)
        .await
        .unwrap();
    assert!(out.contains("account deleted"), "{out}");
    let refused = vane_api::run_subscriptions(&listed.args).await.unwrap_err().to_string();
    assert!(refused.contains("no longer exists"), "{refused}");
}
