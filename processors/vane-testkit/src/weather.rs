//! A fake of OpenWeatherMap's current-weather API for end-to-end tests (no internet): answers
//! `GET /data/2.5/weather?q=<city>,<cc>&appid=<key>&units=metric` with rain or dry weather as the
//! test sets it, each answer a new observation time. Plain std threads, `Connection: close`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::json;

#[derive(Debug, Default)]
struct State {
    /// Rain in mm/h; `None`: dry.
    rain: Option<f64>,
    answers: u64,
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

    /// Requests answered so far.
    pub fn answers(&self) -> u64 {
        self.state.lock().map(|s| s.answers).unwrap_or(0)
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
        let (rain, dt) = match self.state.lock() {
            Ok(mut state) => {
                state.answers += 1;
                (state.rain, 1_700_000_000 + state.answers * 600)
            }
            Err(_) => (None, 0),
        };
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
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )?;
        stream.flush()
    }
}
