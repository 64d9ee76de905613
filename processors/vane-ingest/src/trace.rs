//! W3C Trace Context for events that enter vane: a new `traceparent` when the input carries
//! none, the input's own when it does, so a trace follows the sample across topics.

/// A fresh sampled `traceparent`: version 00, random trace and span ids.
pub fn new_traceparent() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{trace}-{}-01", span.get(..16).unwrap_or("0000000000000001"))
}

/// Whether a header value is a well-formed version-00 `traceparent`.
pub fn is_traceparent(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else { return false };
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    matches!(parts.as_slice(), [v, t, s, f] if hex(v, 2) && hex(t, 32) && hex(s, 16) && hex(f, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_traceparents_are_valid() {
        let a = new_traceparent();
        assert!(is_traceparent(a.as_bytes()), "{a}");
        assert_ne!(a, new_traceparent());
        assert!(!is_traceparent(b"00-xyz-1-01"));
    }
}
