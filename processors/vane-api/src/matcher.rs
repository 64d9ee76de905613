//! Label matchers on the wire: conversions between `pb::LabelMatcher` and the core's
//! [`Matcher`] (PromQL semantics, parsing and compiling live in `vane_core::matcher`).

pub use vane_core::matcher::{MatchOp, Matcher, Selector};

use crate::ApiError;
use crate::pb;

/// The wire form of a matcher.
pub fn to_pb(matcher: &Matcher) -> pb::LabelMatcher {
    let op = match matcher.op {
        MatchOp::Equal => pb::MatchOp::Equal,
        MatchOp::NotEqual => pb::MatchOp::NotEqual,
        MatchOp::Regex => pb::MatchOp::Regex,
        MatchOp::NotRegex => pb::MatchOp::NotRegex,
    };
    pb::LabelMatcher {
        name: matcher.name.clone(),
        op: op.into(),
        value: matcher.value.clone(),
    }
}

/// A wire matcher, checked (known op, valid label name).
pub fn from_pb(matcher: &pb::LabelMatcher) -> Result<Matcher, ApiError> {
    let op = match pb::MatchOp::try_from(matcher.op) {
        Ok(pb::MatchOp::Equal) => MatchOp::Equal,
        Ok(pb::MatchOp::NotEqual) => MatchOp::NotEqual,
        Ok(pb::MatchOp::Regex) => MatchOp::Regex,
        Ok(pb::MatchOp::NotRegex) => MatchOp::NotRegex,
        Err(_) => {
            return Err(ApiError::InvalidArgument(format!(
                "label matcher on {:?}: unknown op {}",
                matcher.name, matcher.op
            )));
        }
    };
    if !vane_core::matcher::is_matcher_name(&matcher.name) {
        return Err(ApiError::InvalidArgument(format!(
            "label matcher: {:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)",
            matcher.name
        )));
    }
    Ok(Matcher {
        name: matcher.name.clone(),
        op,
        value: matcher.value.clone(),
    })
}

/// Every wire matcher of a request, validated and compiled into one selector.
pub fn selector_from_pb(matchers: &[pb::LabelMatcher]) -> Result<Selector, ApiError> {
    let parsed = matchers.iter().map(from_pb).collect::<Result<Vec<_>, _>>()?;
    Selector::new(&parsed).map_err(|error| ApiError::InvalidArgument(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_round_trips() {
        for text in ["job=node", r#"a!~"x\"y""#, "b=~'.+'", "c!=d"] {
            let matcher = Matcher::parse(text).unwrap();
            assert_eq!(from_pb(&to_pb(&matcher)).unwrap(), matcher);
        }
    }

    #[test]
    fn refuses_bad_wire_matchers() {
        let bad_name = pb::LabelMatcher {
            name: "a-b".into(),
            op: 0,
            value: String::new(),
        };
        assert!(selector_from_pb(&[bad_name]).is_err());
        let bad_op = pb::LabelMatcher {
            name: "a".into(),
            op: 99,
            value: String::new(),
        };
        assert!(from_pb(&bad_op).is_err());
        let too_many = vec![to_pb(&Matcher::parse("a=").unwrap()); vane_core::matcher::MAX_MATCHERS + 1];
        assert!(selector_from_pb(&too_many).is_err());
        assert!(selector_from_pb(&[to_pb(&Matcher::parse("job=~(unclosed").unwrap())]).is_err());
    }
}
