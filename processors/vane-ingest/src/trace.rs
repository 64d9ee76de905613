//! W3C Trace Context for events that enter vane: a new `traceparent` when the input carries
//! none, the input's own when it does, so a trace follows the sample across topics.

/// A fresh sampled `traceparent`: version 00, random trace and span ids.
pub fn new_traceparent() -> String {
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let span = uuid::Uuid::new_v4().simple().to_string();
    format!("00-{trace}-{}-01", span.get(..16).unwrap_or("0000000000000001"))
}

/// Whether a header value is a well-formed version-00 `traceparent`
/// (`00-<32 hex>-<16 hex>-<2 hex>`). Allocation-free: it runs once per sample.
pub fn is_traceparent(value: &[u8]) -> bool {
    value.len() == 55
        && value.iter().enumerate().all(|(i, b)| match i {
            2 | 35 | 52 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
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
