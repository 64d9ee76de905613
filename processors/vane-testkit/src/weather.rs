//! A fake of OpenWeatherMap's current-weather API for end-to-end tests (no internet): answers
//! `GET /data/2.5/weather?q=<city>,<cc>&appid=<key>&units=metric` with rain or dry weather as the
//! test sets it, each answer a new observation time, or with OpenWeatherMap's 404 "city not found"
//! for the cities the test marks unknown. Plain std threads, `Connection: close`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::json;

#[derive(Debug, Default)]
struct State {
    /// Rain in mm/h; `None`: dry.
    rain: Option<f64>,
    answers: u64,
    /// Lowercased names of the cities answered with 404.
    unknown: HashSet<String>,
    /// Requests per lowercased city name.
    asked: HashMap<String, u64>,
}

/// The running fake; it stops with the test process.
#[derive(Debug, Clone)]
pub struct FakeWeather {
    /// Base URL to give vane (`--weather-url`).
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeWeather {
    /// Starts the fake on a free port, reporting dry weather everywhere.
    pub fn start() -> std::io::Result<FakeWeather> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let fake = FakeWeather {
            url: format!("http://{}", listener.local_addr()?),
            state: Arc::new(Mutex::new(State::default())),
        };
        let shared = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = shared.answer(stream);
                });
            }
        });
        Ok(fake)
    }

    /// From now on it rains `mm` per hour (`None`: dry).
    pub fn set_rain(&self, mm: Option<f64>) {
        if let Ok(mut state) = self.state.lock() {
            state.rain = mm;
        }
    }

    /// From now on `city` (a name, any case) is answered as OpenWeatherMap answers a city it does
    /// not know: HTTP 404 with `{"cod":"404","message":"city not found"}`.
    pub fn set_unknown_city(&self, city: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.unknown.insert(city.to_lowercase());
        }
    }

    /// Requests answered so far (404s included).
    pub fn answers(&self) -> u64 {
        self.state.lock().map(|s| s.answers).unwrap_or(0)
    }

    /// Requests about `city` (a name, any case) answered so far.
    pub fn answers_for(&self, city: &str) -> u64 {
        self.state
            .lock()
            .map(|s| s.asked.get(&city.to_lowercase()).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn answer(&self, stream: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
        }
        let target = request_line.split_whitespace().nth(1).unwrap_or_default();
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let city = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("q="))
            .map(|q| q.replace("%2C", ",").replace('+', " "))
            .unwrap_or_default();
        let name = city.split(',').next().unwrap_or_default().to_string();
        let (rain, dt, unknown) = match self.state.lock() {
            Ok(mut state) => {
                state.answers += 1;
                *state.asked.entry(name.to_lowercase()).or_default() += 1;
                (
                    state.rain,
                    1_700_000_000 + state.answers * 600,
                    state.unknown.contains(&name.to_lowercase()),
                )
            }
            Err(_) => (None, 0, false),
        };
        let mut stream = stream;
        if unknown {
            let text = r#"{"cod":"404","message":"city not found"}"#;
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            )?;
            return stream.flush();
        }
        let mut body = json!({
            "coord": {"lat": 37.5, "lon": 15.08},
            "weather": [{"main": if rain.is_some() { "Rain" } else { "Clear" }}],
            "main": {"temp": 14.2, "feels_like": 13.6, "humidity": 82},
            "wind": {"speed": 4.1}, "dt": dt, "sys": {"country": "IT"}, "name": name, "cod": 200
        });
        if let (Some(mm), Some(fields)) = (rain, body.as_object_mut()) {
            fields.insert("rain".into(), json!({"1h": mm}));
        }
        let text = body.to_string();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
        stream.flush()
    }
}
