//! Splitting a text into Telegram messages. Telegram refuses a message longer than 4,096
//! characters, counted in UTF-16 code units (what its API counts; an emoji outside the Basic
//! Multilingual Plane is two). A long text is cut after the last line break that keeps a part
//! within the limit, else after the last whitespace, else between two characters; the break
//! where a cut happens is dropped, everything else is kept verbatim. Pure.

/// Telegram's limit on one message's text, in UTF-16 code units.
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;

/// The parts of `text`, each at most `limit` UTF-16 code units (`limit` below 2 counts as 2, so
/// that every character fits). Parts that are only whitespace are left out (Telegram refuses
/// them), so a blank text has no parts.
pub fn split_text(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(2);
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = fitting_prefix(rest, limit);
        if end == rest.len() {
            push_part(&mut parts, rest);
            break;
        }
        let window = rest.get(..end).unwrap_or(rest);
        let (cut, skip) = break_point(window);
        push_part(&mut parts, window.get(..cut).unwrap_or(window));
        rest = rest.get(cut + skip..).unwrap_or_default();
    }
    parts
}

/// The byte length of the longest prefix of `text` within `limit` UTF-16 code units.
fn fitting_prefix(text: &str, limit: usize) -> usize {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        units += c.len_utf16();
        if units > limit {
            return index;
        }
    }
    text.len()
}

/// Where to cut a full window (byte index) and how many bytes of break to drop there. A line
/// break or a space is used only in the window's second half, so that parts stay large.
fn break_point(window: &str) -> (usize, usize) {
    let half = window.len() / 2;
    if let Some(index) = window.rfind('\n')
        && index >= half
    {
        return (index, 1);
    }
    if let Some((index, c)) = window.char_indices().rev().find(|(_, c)| c.is_whitespace())
        && index >= half
    {
        return (index, c.len_utf8());
    }
    (window.len(), 0)
}

fn push_part(parts: &mut Vec<String>, part: &str) {
    if !part.trim().is_empty() {
        parts.push(part.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(text: &str) -> usize {
        text.encode_utf16().count()
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split_text("disk full", TELEGRAM_TEXT_LIMIT), vec!["disk full"]);
        let exactly = "x".repeat(TELEGRAM_TEXT_LIMIT);
        assert_eq!(split_text(&exactly, TELEGRAM_TEXT_LIMIT), vec![exactly]);
    }

    #[test]
    fn blank_text_has_no_parts() {
        assert!(split_text("", TELEGRAM_TEXT_LIMIT).is_empty());
        assert!(split_text(" \n\t ", TELEGRAM_TEXT_LIMIT).is_empty());
    }

    #[test]
    fn cuts_at_the_last_line_break_within_the_limit() {
        // 50 lines of 99 characters and a newline: 5,000 characters.
        let line = "a".repeat(99);
        let text: String = (0..50).map(|_| format!("{line}\n")).collect();
        let parts = split_text(&text, TELEGRAM_TEXT_LIMIT);
        assert_eq!(parts.len(), 2);
        // 40 whole lines fit (4,000 characters); the 41st would end at 4,100.
        assert_eq!(parts[0], text[..3999]);
        assert!(parts.iter().all(|p| units(p) <= TELEGRAM_TEXT_LIMIT));
        assert_eq!(parts.join("\n"), text);
    }

    #[test]
    fn cuts_at_a_space_when_no_line_break_is_late_enough() {
        let words: Vec<String> = (0..1000).map(|i| format!("w{i:04}")).collect();
        let text = format!("head\n{}", words.join(" "));
        let parts = split_text(&text, 100);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(units(part) <= 100, "{part:?}");
            assert!(!part.starts_with(' ') && !part.ends_with(' '), "{part:?}");
        }
        // No word is cut in two.
        let rejoined: Vec<&str> = parts.iter().flat_map(|p| p.split(['\n', ' '])).collect();
        assert_eq!(rejoined.len(), words.len() + 1);
        assert_eq!(parts.join(" "), text);
    }

    #[test]
    fn text_without_breaks_is_cut_between_characters() {
        let text = "é".repeat(5000);
        let parts = split_text(&text, TELEGRAM_TEXT_LIMIT);
        assert_eq!(parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), vec![4096, 904]);
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn counts_utf16_units_and_never_splits_a_character() {
        // Each emoji is two UTF-16 units: 2,049 of them are 4,098 units.
        let text = "🚨".repeat(2049);
        let parts = split_text(&text, TELEGRAM_TEXT_LIMIT);
        assert_eq!(parts.len(), 2);
        assert_eq!(units(&parts[0]), 4096);
        assert_eq!(parts[1], "🚨");
        // A limit below one character still makes progress.
        assert_eq!(split_text("🚨🚨", 1), vec!["🚨", "🚨"]);
    }

    #[test]
    fn whitespace_only_parts_are_dropped() {
        // The cut after the a's leaves 70 spaces, a line break and "end": the next window is
        // all spaces and is dropped; the rest keeps its text verbatim.
        let text = format!("{}\n{}\nend", "a".repeat(60), " ".repeat(70));
        let parts = split_text(&text, 64);
        assert_eq!(parts, vec!["a".repeat(60), format!("{}\nend", " ".repeat(6))]);
    }
}
