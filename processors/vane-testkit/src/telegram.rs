//! A fake of the Telegram Bot API for end-to-end tests (no internet): answers `GetMe` with the
//! full bot user teloxide expects and `SendMessage` with a message, and records every message
//! sent; `GetUpdates` long-polls the messages a test "types" with [`FakeTelegram::type_message`]
//! and forgets those below the asked offset, as Telegram does. Plain std threads and HTTP/1.1
//! with `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One `SendMessage` the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub text: String,
}

/// The running fake; it stops with the test process.
#[derive(Debug, Clone)]
pub struct FakeTelegram {
    /// Base URL to give vane (`--telegram-api-url`).
    pub url: String,
    sent: Arc<Mutex<Vec<SentMessage>>>,
    /// `retry_after` seconds of the 429s to answer the next `SendMessage`s with.
    too_many: Arc<Mutex<Vec<u64>>>,
    /// `SendMessage` requests answered 429.
    refused: Arc<Mutex<u64>>,
    /// Messages typed by users and not yet confirmed: (update id, chat id, text).
    updates: Arc<Mutex<Vec<(u64, i64, String)>>>,
    /// The last update id given out.
    last_update: Arc<Mutex<u64>>,
}

impl FakeTelegram {
    /// Starts the fake on a free port.
    pub fn start() -> std::io::Result<FakeTelegram> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let fake = FakeTelegram {
            url,
            sent: Arc::new(Mutex::new(Vec::new())),
            too_many: Arc::new(Mutex::new(Vec::new())),
            refused: Arc::new(Mutex::new(0)),
            updates: Arc::new(Mutex::new(Vec::new())),
            last_update: Arc::new(Mutex::new(1_000)),
        };
        let shared = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = answer(stream, &shared);
                });
            }
        });
        Ok(fake)
    }

    /// Answers the next `SendMessage` with 429 Too Many Requests and this `retry_after`.
    pub fn refuse_next(&self, retry_after_s: u64) {
        if let Ok(mut queue) = self.too_many.lock() {
            queue.push(retry_after_s);
        }
    }

    /// How many `SendMessage` requests were answered 429.
    pub fn refused(&self) -> u64 {
        self.refused.lock().map(|n| *n).unwrap_or(0)
    }

    /// A user types `text` into chat `chat_id`: the bot's next `GetUpdates` gets it.
    pub fn type_message(&self, chat_id: i64, text: &str) {
        let id = match self.last_update.lock() {
            Ok(mut last) => {
                *last += 1;
                *last
            }
            Err(_) => return,
        };
        if let Ok(mut updates) = self.updates.lock() {
            updates.push((id, chat_id, text.to_string()));
        }
    }

    /// Typed messages that no `GetUpdates` has confirmed yet (asked for an offset past them).
    pub fn unconfirmed(&self) -> usize {
        self.updates.lock().map(|u| u.len()).unwrap_or(0)
    }

    /// The messages sent to one chat so far, in arrival order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<String> {
        self.sent().into_iter().filter(|m| m.chat_id == chat_id).map(|m| m.text).collect()
    }

    /// Every message sent so far, in arrival order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn answer(stream: TcpStream, fake: &FakeTelegram) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or_default();
    let method = path.rsplit('/').next().unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reply = match method {
        "GetMe" => json!({"ok": true, "result": {
            "id": 123456, "is_bot": true, "first_name": "vane", "username": "vane_test_bot",
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false
        }}),
        "GetUpdates" => json!({"ok": true, "result": updates(fake, &request)}),
        "SendMessage" if !fake.too_many.lock().map(|q| q.is_empty()).unwrap_or(true) => {
            let retry_after = fake.too_many.lock().map(|mut q| q.remove(0)).unwrap_or(1);
            if let Ok(mut refused) = fake.refused.lock() {
                *refused += 1;
            }
            json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {retry_after}"),
                   "parameters": {"retry_after": retry_after}})
        }
        "SendMessage" => {
            let chat_id = request.get("chat_id").and_then(Value::as_i64).unwrap_or_default();
            let text = request.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
            let message_id = {
                let mut sent = fake.sent.lock().map_err(|_| std::io::Error::other("poisoned"))?;
                sent.push(SentMessage {
                    chat_id,
                    text: text.clone(),
                });
                sent.len()
            };
            json!({"ok": true, "result": {
                "message_id": message_id, "date": 1_700_000_000,
                "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
                "from": {"id": 123456, "is_bot": true, "first_name": "vane", "username": "vane_test_bot"},
                "text": text
            }})
        }
        _ => json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
    };
    let text = reply.to_string();
    let status = match reply.get("error_code").and_then(Value::as_u64) {
        None => "200 OK",
        Some(429) => "429 Too Many Requests",
        Some(_) => "404 Not Found",
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

/// The updates at or after the request's offset, waiting up to its timeout for one; the ones
/// below the offset are confirmed and forgotten.
fn updates(fake: &FakeTelegram, request: &Value) -> Value {
    let offset = request.get("offset").and_then(Value::as_u64).unwrap_or(0);
    let timeout = Duration::from_secs(request.get("timeout").and_then(Value::as_u64).unwrap_or(0));
    let started = Instant::now();
    loop {
        let pending: Vec<Value> = match fake.updates.lock() {
            Ok(mut updates) => {
                updates.retain(|(id, _, _)| *id >= offset);
                updates
                    .iter()
                    .map(|(id, chat_id, text)| {
                        json!({"update_id": id, "message": {
                            "message_id": id, "date": 1_700_000_000,
                            "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
                            "from": {"id": chat_id, "is_bot": false, "first_name": "Ada"},
                            "text": text
                        }})
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        if !pending.is_empty() || started.elapsed() >= timeout {
            return Value::Array(pending);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
