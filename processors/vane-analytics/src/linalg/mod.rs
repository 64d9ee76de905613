//! Small dense linear algebra: least squares by Householder QR (one factorisation serves every
//! nested fit of leading columns), a pivoted dense solve and a Cholesky solve.
//!
//! The regressions here are tall and thin (thousands of rows, a few dozen columns), so QR on the
//! design matrix keeps the accuracy that forming X'X would lose. Matrices are column vectors of
//! equal length; the public routines of this crate validate lengths before they get here.

#![allow(clippy::indexing_slicing)]
// lengths are checked on entry to each function
// Index loops mirror the published algorithms, which keeps them checkable against the papers.
#![allow(clippy::needless_range_loop, clippy::explicit_counter_loop)]

use crate::error::{AnalyticsError, Result};

mod dense;
pub use dense::{cholesky_solve, damped_step, solve};

/// Squared relative length below which a column counts as rounding noise (lengths 1e-14 apart).
const RANK_TOLERANCE: f64 = 1e-28;

/// Result of an ordinary least-squares fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Ols {
    /// Coefficients, one per column.
    pub params: Vec<f64>,
    /// Standard errors of the coefficients.
    pub bse: Vec<f64>,
    /// Sum of squared residuals.
    pub ssr: f64,
    /// Number of observations (rows).
    pub nobs: usize,
}

impl Ols {
    /// t statistic of coefficient `j`.
    pub fn tvalue(&self, j: usize) -> f64 {
        match (self.params.get(j), self.bse.get(j)) {
            (Some(p), Some(s)) => p / s,
            _ => f64::NAN,
        }
    }

    /// Gaussian log-likelihood at the OLS estimate (statsmodels' `llf`).
    pub fn llf(&self) -> f64 {
        llf(self.ssr, self.nobs)
    }

    /// Akaike information criterion, `-2 llf + 2 k`.
    pub fn aic(&self) -> f64 {
        -2.0 * self.llf() + 2.0 * self.params.len() as f64
    }

    /// Bayesian information criterion, `-2 llf + ln(n) k`.
    pub fn bic(&self) -> f64 {
        -2.0 * self.llf() + (self.nobs as f64).ln() * self.params.len() as f64
    }
}

/// Householder QR of the columns `x` with the reflectors applied to `y`: the reflector vectors
/// below the diagonal of each column, R above it, R's diagonal, and `Q'y`.
struct Qr {
    a: Vec<Vec<f64>>,
    rdiag: Vec<f64>,
    qty: Vec<f64>,
}

/// [`householder_leading`] that fails unless every column is independent of those before it.
fn householder(x: &[Vec<f64>], y: &[f64]) -> Result<Qr> {
    let qr = householder_leading(x, y)?;
    if qr.rdiag.len() < x.len() {
        return Err(AnalyticsError::Singular { what: "least squares" });
    }
    Ok(qr)
}

/// Householder QR of the leading columns of `x` up to (not including) the first one that is
/// numerically a combination of those before it; `rdiag.len()` says how many were factorised.
fn householder_leading(x: &[Vec<f64>], y: &[f64]) -> Result<Qr> {
    let n = y.len();
    let k = x.len();
    if k == 0 || n <= k || x.iter().any(|c| c.len() != n) {
        return Err(AnalyticsError::Singular {
            what: "least squares (shape)",
        });
    }
    let mut a: Vec<Vec<f64>> = x.to_vec();
    let mut qty = y.to_vec();
    let mut rdiag = vec![0.0; k];
    // A column stops the factorisation when it depends on those before it (what is left of it
    // after they are projected out is rounding noise of its own length: measured against the
    // largest column instead, a level of 1e12 bytes made the constant look dependent) or when it
    // is itself rounding noise beside the largest column (long-autoregression residuals of a
    // noiseless series). Callers scale their data to order one (ADF) so that a squared trend
    // does not make a real regressor look like noise.
    let own: Vec<f64> = x.iter().map(|c| dot(c, c)).collect();
    let largest = own.iter().copied().fold(0.0, f64::max);
    for j in 0..k {
        let norm = dot(&a[j][j..], &a[j][j..]).sqrt();
        if norm == 0.0 || norm * norm <= RANK_TOLERANCE * own[j] || own[j] <= RANK_TOLERANCE * largest {
            rdiag.truncate(j);
            break;
        }
        let alpha = if a[j][j] > 0.0 { -norm } else { norm };
        // v = a_j[j..] - alpha e_1, stored in a[j][j..].
        a[j][j] -= alpha;
        let vtv = dot(&a[j][j..], &a[j][j..]);
        rdiag[j] = alpha;
        let (head, tail) = a.split_at_mut(j + 1);
        let v = &head[j][j..];
        // Reflect the later columns four at a time: one sweep over `v` gives their four inner
        // products (each the number `dot` gives).
        let mut groups = tail.chunks_exact_mut(4);
        for group in &mut groups {
            let [c0, c1, c2, c3] = group else { continue };
            let products = dots(v, [&c0[j..], &c1[j..], &c2[j..], &c3[j..]]);
            let [f0, f1, f2, f3] = products.map(|p| 2.0 * p / vtv);
            let len = v.len();
            let (c0, c1, c2, c3) = (&mut c0[j..j + len], &mut c1[j..j + len], &mut c2[j..j + len], &mut c3[j..j + len]);
            for i in 0..len {
                let vi = v[i];
                c0[i] -= f0 * vi;
                c1[i] -= f1 * vi;
                c2[i] -= f2 * vi;
                c3[i] -= f3 * vi;
            }
        }
        for col in groups.into_remainder() {
            let f = 2.0 * dot(v, &col[j..]) / vtv;
            for (c, vi) in col[j..].iter_mut().zip(v) {
                *c -= f * vi;
            }
        }
        let f = 2.0 * dot(v, &qty[j..]) / vtv;
        for (c, vi) in qty[j..].iter_mut().zip(v) {
            *c -= f * vi;
        }
    }
    Ok(Qr { a, rdiag, qty })
}

/// What a nested fit needs for lag selection: the fit on the first `k` columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NestedFit {
    /// Sum of squared residuals.
    pub ssr: f64,
    /// Rows.
    pub nobs: usize,
    /// Columns used.
    pub k: usize,
    /// t statistic of the last of those columns.
    pub last_t: f64,
}

fn llf(ssr: f64, nobs: usize) -> f64 {
    let n = nobs as f64;
    -n / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (ssr / n).ln() + 1.0)
}

impl NestedFit {
    /// Akaike information criterion, as [`Ols::aic`].
    pub fn aic(&self) -> f64 {
        -2.0 * llf(self.ssr, self.nobs) + 2.0 * self.k as f64
    }

    /// Bayesian information criterion, as [`Ols::bic`].
    pub fn bic(&self) -> f64 {
        -2.0 * llf(self.ssr, self.nobs) + (self.nobs as f64).ln() * self.k as f64
    }
}

/// The least-squares fits of `y` on the first `k` columns of `x`, for every `k` from
/// `min_k` to `x.len()`, from one QR factorisation: the factorisation of leading columns is the
/// leading block of the full one, the residual sum of squares is the tail of `Q'y`, and the last
/// coefficient's t statistic is `(Q'y)_k / sqrt(s^2)` up to the sign of `R_kk`. When a column
/// past `min_k` depends on those before it (a lagged difference that is all zeros in a short,
/// flat window), the fits stop before it instead of failing.
pub fn nested_ols(x: &[Vec<f64>], y: &[f64], min_k: usize) -> Result<Vec<NestedFit>> {
    let qr = householder_leading(x, y)?;
    let n = y.len();
    let kmax = qr.rdiag.len();
    if kmax < min_k.max(1) {
        return Err(AnalyticsError::Singular { what: "least squares" });
    }
    // tail[k] = sum_{i >= k} qty_i^2.
    let mut tail = vec![0.0; kmax + 1];
    tail[kmax] = qr.qty[kmax..].iter().map(|v| v * v).sum();
    for k in (0..kmax).rev() {
        tail[k] = tail[k + 1] + qr.qty[k] * qr.qty[k];
    }
    let mut out = Vec::with_capacity(kmax + 1 - min_k.min(kmax));
    for k in min_k.max(1)..=kmax {
        let ssr = tail[k];
        let s2 = ssr / (n - k) as f64;
        let coef = qr.qty[k - 1] / qr.rdiag[k - 1];
        let se = (s2 / (qr.rdiag[k - 1] * qr.rdiag[k - 1])).sqrt();
        out.push(NestedFit {
            ssr,
            nobs: n,
            k,
            last_t: coef / se,
        });
    }
    Ok(out)
}

/// Least squares of `y` on the columns `x`. Needs more rows than columns and full column rank.
pub fn ols(x: &[Vec<f64>], y: &[f64]) -> Result<Ols> {
    let n = y.len();
    let k = x.len();
    let Qr { a, rdiag, qty } = householder(x, y)?;
    // R is upper triangular: R[i][j] = a[j][i] for i < j, R[j][j] = rdiag[j].
    let r = |i: usize, j: usize| if i == j { rdiag[j] } else { a[j][i] };
    let mut params = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = qty[i];
        for j in i + 1..k {
            s -= r(i, j) * params[j];
        }
        params[i] = s / r(i, i);
    }
    let mut ssr = 0.0;
    for t in 0..n {
        let mut fit = 0.0;
        for j in 0..k {
            fit += x[j][t] * params[j];
        }
        let e = y[t] - fit;
        ssr += e * e;
    }
    let s2 = ssr / (n - k) as f64;
    // diag((R'R)^-1)_j = || R^-T e_j ||^2.
    let mut bse = vec![0.0; k];
    let mut z = vec![0.0; k];
    for (jj, b) in bse.iter_mut().enumerate() {
        z.iter_mut().for_each(|v| *v = 0.0);
        for i in jj..k {
            let mut s = if i == jj { 1.0 } else { 0.0 };
            for m in jj..i {
                s -= r(m, i) * z[m];
            }
            z[i] = s / r(i, i);
        }
        let d: f64 = z.iter().map(|v| v * v).sum();
        *b = (s2 * d).sqrt();
    }
    Ok(Ols { params, bse, ssr, nobs: n })
}

/// Dot product of the common prefix of `a` and `b`, with four partial sums so that the adds
/// pipeline (and vectorise) instead of forming one serial chain.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// [`dot`] of `base` with each of `others` in one sweep, which loads `base` once for all of
/// them: each result is bit for bit the one [`dot`] gives (the same four partial sums), over the
/// shortest of the lengths.
pub fn dots<const K: usize>(base: &[f64], others: [&[f64]; K]) -> [f64; K] {
    let n = others.iter().fold(base.len(), |n, o| n.min(o.len()));
    let base = &base[..n];
    let others = others.map(|o| &o[..n]);
    let mut acc = [[0.0; 4]; K];
    let whole = n - n % 4;
    let mut chunks = others.map(|o| o[..whole].chunks_exact(4));
    for x in base[..whole].chunks_exact(4) {
        for (a, it) in acc.iter_mut().zip(chunks.iter_mut()) {
            if let Some(y) = it.next() {
                a[0] += x[0] * y[0];
                a[1] += x[1] * y[1];
                a[2] += x[2] * y[2];
                a[3] += x[3] * y[3];
            }
        }
    }
    let mut out = [0.0; K];
    for ((r, a), o) in out.iter_mut().zip(&acc).zip(&others) {
        let mut tail = 0.0;
        for (x, y) in base[whole..].iter().zip(&o[whole..]) {
            tail += x * y;
        }
        *r = (a[0] + a[1]) + (a[2] + a[3]) + tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_exact_line_and_standard_errors() {
        let x0 = vec![1.0; 5];
        let x1 = vec![0.0, 1.0, 2.0, 3.0, 4.0];
        let y = vec![1.0, 3.1, 4.9, 7.2, 8.8];
        let fit = ols(&[x0, x1], &y).unwrap();
        // statsmodels OLS: params [1.06, 1.97], ssr 0.091, bse [0.13490738, 0.05507571].
        assert!((fit.params[1] - 1.97).abs() < 1e-12);
        assert!((fit.params[0] - 1.06).abs() < 1e-12);
        assert!((fit.ssr - 0.091).abs() < 1e-12);
        assert!((fit.bse[0] - 0.134_907_38).abs() < 1e-8);
        assert!((fit.bse[1] - 0.055_075_71).abs() < 1e-8);
    }

    #[test]
    fn nested_fits_match_separate_fits() {
        let n = 40;
        let cols: Vec<Vec<f64>> = (0..4)
            .map(|j| (0..n).map(|t| ((t * (j + 3) * 7919) % 23) as f64 + j as f64).collect())
            .collect();
        let y: Vec<f64> = (0..n).map(|t| ((t * 31) % 17) as f64).collect();
        let nested = nested_ols(&cols, &y, 1).unwrap();
        for f in &nested {
            let full = ols(&cols[..f.k], &y).unwrap();
            assert!((f.ssr - full.ssr).abs() < 1e-9 * full.ssr);
            assert!((f.last_t - full.tvalue(f.k - 1)).abs() < 1e-9 * full.tvalue(f.k - 1).abs());
            assert!((f.aic() - full.aic()).abs() < 1e-9);
        }
    }

    #[test]
    fn collinear_columns_are_singular() {
        let x0 = vec![1.0, 2.0, 3.0, 4.0];
        let x1 = vec![2.0, 4.0, 6.0, 8.0];
        assert!(ols(&[x0, x1], &[1.0, 2.0, 3.0, 5.0]).is_err());
    }

    #[test]
    fn rank_is_judged_per_column_and_against_the_largest() {
        let n = 50;
        let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let squared: Vec<f64> = t.iter().map(|v| v * v * 1e6).collect();
        let small: Vec<f64> = t.iter().map(|v| 1e-2 * (v * 0.7).sin()).collect();
        let y: Vec<f64> = t.iter().map(|v| v.cos()).collect();
        // A column 1e-12 the length of another counts when it is its own direction.
        assert!(ols(&[squared.clone(), small.clone()], &y).is_ok());
        // A column that is another one scaled does not, small or not.
        let dependent: Vec<f64> = small.iter().map(|v| v * 3.0).collect();
        assert!(matches!(ols(&[small.clone(), dependent], &y), Err(AnalyticsError::Singular { .. })));
        // Nor does rounding noise beside the largest column.
        let noise: Vec<f64> = t.iter().map(|v| 1e-20 * (v * 1.3).sin()).collect();
        assert!(matches!(ols(&[squared, noise], &y), Err(AnalyticsError::Singular { .. })));
    }

    #[test]
    fn dots_equal_dot_bit_for_bit() {
        let a: Vec<f64> = (0..23).map(|t| ((t * 7919) % 31) as f64 / 7.0 - 2.0).collect();
        let b: Vec<f64> = (0..23).map(|t| ((t * 104_729) % 17) as f64 / 3.0).collect();
        let c: Vec<f64> = (0..25).map(|t| (t as f64 * 0.37).sin()).collect();
        let got = dots(&a, [&b, &c[2..]]);
        assert_eq!(got[0].to_bits(), dot(&b, &a).to_bits());
        assert_eq!(got[1].to_bits(), dot(&a, &c[2..]).to_bits());
        assert_eq!(dots(&a[..5], [&b]), [dot(&a[..5], &b)]);
    }
}
