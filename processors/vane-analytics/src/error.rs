//! The crate's single error type.
//!
//! Every fallible routine returns [`AnalyticsError`]. All variants are permanent: the same input
//! gives the same error, so retrying never helps; callers report the message and move on.

use thiserror::Error;

/// Why an analytics routine could not produce a result.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalyticsError {
    /// The series has no values.
    #[error("series is empty")]
    Empty,
    /// Every value is the same, so variances are zero and tests are undefined.
    #[error("series is constant")]
    Constant,
    /// The series has fewer points than the asked lags or period need.
    #[error("series too short for {what}: needs at least {needed} values, has {given}")]
    TooShort {
        /// What was asked (for example `"adf with maxlag 12"`).
        what: String,
        /// The minimum number of values needed.
        needed: usize,
        /// The number of values given.
        given: usize,
    },
    /// A value is NaN or infinite.
    #[error("value at index {index} is not finite ({value})")]
    NonFinite {
        /// Zero-based position of the value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A value so large that its square overflows (sums of squares are everywhere).
    #[error("value at index {index} ({value:e}) is beyond ±1e150, where sums of squares overflow; rescale the series (other units)")]
    TooLarge {
        /// Zero-based position of the value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// Every value is so close to zero that squares underflow.
    #[error("every value is within ±{largest:e}, below 1e-100, where squares underflow; rescale the series (other units)")]
    TooSmall {
        /// The largest magnitude in the series.
        largest: f64,
    },
    /// A timestamp is smaller than the one before it.
    #[error("timestamp at index {index} ({timestamp}) is before the previous one ({previous})")]
    DecreasingTimestamp {
        /// Zero-based position of the timestamp.
        index: usize,
        /// The offending timestamp (Unix seconds).
        timestamp: i64,
        /// The timestamp before it (Unix seconds).
        previous: i64,
    },
    /// Timestamps and values have different lengths.
    #[error("series has {timestamps} timestamps but {values} values")]
    LengthMismatch {
        /// Number of timestamps.
        timestamps: usize,
        /// Number of values.
        values: usize,
    },
    /// A value is zero or negative where a multiplicative model needs positive data.
    #[error("value at index {index} is not positive ({value}), a multiplicative model needs positive data")]
    NonPositive {
        /// Zero-based position of the value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A CSV line could not be parsed.
    #[error("csv line {line}: {reason}")]
    Csv {
        /// One-based line number in the input.
        line: usize,
        /// What was wrong with it.
        reason: String,
    },
    /// An option is outside its valid range.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// Name of the option.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A regression or linear system is singular (collinear regressors).
    #[error("singular system in {what}")]
    Singular {
        /// Which computation met the singular system.
        what: &'static str,
    },
    /// The series follows a deterministic pattern exactly (a straight line, a strict alternation),
    /// so a statistic that divides by its unexplained variance is undefined.
    #[error("{reason}")]
    Deterministic {
        /// Which computation (`"adf"`, `"pacf"`).
        what: &'static str,
        /// What is undefined, and what the series does that leaves it so (one sentence).
        reason: String,
    },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, AnalyticsError>;

/// Largest magnitude a value may have: its square, summed over a million points, stays finite.
/// Metrics are far below (a 64-bit counter is 1.8e19).
pub const MAX_MAGNITUDE: f64 = 1e150;

/// Smallest largest magnitude a series may have, unless it is all zeros: its squares and their
/// products stay far from underflow (1e-308).
pub const MIN_MAGNITUDE: f64 = 1e-100;

/// Checks that `values` is non-empty, finite, within [`MAX_MAGNITUDE`] and, unless all zero, not
/// entirely below [`MIN_MAGNITUDE`].
pub(crate) fn check_finite(values: &[f64]) -> Result<()> {
    if values.is_empty() {
        return Err(AnalyticsError::Empty);
    }
    let mut largest = 0.0_f64;
    for (index, &value) in values.iter().enumerate() {
        if !value.is_finite() {
            return Err(AnalyticsError::NonFinite { index, value });
        }
        if value.abs() > MAX_MAGNITUDE {
            return Err(AnalyticsError::TooLarge { index, value });
        }
        largest = largest.max(value.abs());
    }
    if largest > 0.0 && largest < MIN_MAGNITUDE {
        return Err(AnalyticsError::TooSmall { largest });
    }
    Ok(())
}

/// Checks that `values` is non-empty, finite and not constant.
pub(crate) fn check_varying(values: &[f64]) -> Result<()> {
    check_finite(values)?;
    let first = values.first().copied().unwrap_or(0.0);
    if values.iter().all(|&v| v == first) {
        return Err(AnalyticsError::Constant);
    }
    Ok(())
}
