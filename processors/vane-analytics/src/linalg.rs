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
    // Each column's own length, to detect a column that QR reduces to rounding noise: what is
    // left of it after the columns before it are projected out, relative to itself. Measured
    // against the largest column instead, a level of 1e12 bytes made the constant look like
    // noise, and a series of 1e-12 beside a squared trend of 1e10 was all noise.
    let own: Vec<f64> = x.iter().map(|c| dot(c, c)).collect();
    for j in 0..k {
        let norm = dot(&a[j][j..], &a[j][j..]).sqrt();
        if norm == 0.0 || norm * norm <= 1e-28 * own[j] {
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

/// Solves the square system `a x = b` (row-major `a`, n x n) by Gaussian elimination with
/// partial pivoting.
pub fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Result<Vec<f64>> {
    let n = b.len();
    if a.len() != n || a.iter().any(|r| r.len() != n) {
        return Err(AnalyticsError::Singular {
            what: "dense solve (shape)",
        });
    }
    for col in 0..n {
        let mut piv = col;
        for row in col + 1..n {
            if a[row][col].abs() > a[piv][col].abs() {
                piv = row;
            }
        }
        if a[piv][col] == 0.0 || !a[piv][col].is_finite() {
            return Err(AnalyticsError::Singular { what: "dense solve" });
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f == 0.0 {
                continue;
            }
            for c in col..n {
                a[row][c] -= f * a[col][c];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = b[i];
        for j in i + 1..n {
            s -= a[i][j] * x[j];
        }
        x[i] = s / a[i][i];
    }
    Ok(x)
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

/// A Levenberg-Marquardt step: `x` solving `(A + lambda diag(A)) x = -g` for the Gauss-Newton
/// matrix `a` (row-major, `k x k`) and gradient `g`, by Cholesky; `None` when the damped matrix
/// is not numerically positive definite (the caller raises `lambda`).
pub fn damped_step(a: &[f64], g: &[f64], lambda: f64) -> Option<Vec<f64>> {
    let k = g.len();
    let mut damped = a.to_vec();
    for i in 0..k {
        damped[i * k + i] *= 1.0 + lambda;
        damped[i * k + i] += 1e-300;
    }
    let neg: Vec<f64> = g.iter().map(|v| -v).collect();
    cholesky_solve(damped, k, &neg)
}

/// Solves the symmetric positive definite system `a x = b` (row-major `a`, `n x n`) by Cholesky
/// factorisation; `None` when `a` is not numerically positive definite.
pub fn cholesky_solve(mut a: Vec<f64>, n: usize, b: &[f64]) -> Option<Vec<f64>> {
    if a.len() != n * n || b.len() != n {
        return None;
    }
    // Lower factor in place, row by row: `l_ij = (a_ij - l_i[..j] . l_j[..j]) / l_jj`. Four rows
    // at a time share the loads of each earlier row `j` (the speed of the factorisation is the
    // speed of those loads); every entry is the same number the row-by-row order gives.
    const BLOCK: usize = 4;
    let mut i0 = 0;
    while i0 < n {
        if i0 + BLOCK <= n {
            for j in 0..i0 {
                let row = |r: usize| &a[r * n..r * n + j];
                let sums = dots(row(j), [row(i0), row(i0 + 1), row(i0 + 2), row(i0 + 3)]);
                let ljj = a[j * n + j];
                for (r, s) in sums.iter().enumerate() {
                    let at = (i0 + r) * n + j;
                    a[at] = (a[at] - s) / ljj;
                }
            }
        }
        let rows = BLOCK.min(n - i0);
        for i in i0..i0 + rows {
            let first = if rows == BLOCK { i0 } else { 0 };
            for j in first..=i {
                let s = a[i * n + j] - dot(&a[i * n..i * n + j], &a[j * n..j * n + j]);
                if i == j {
                    if s.is_nan() || s <= 0.0 || s.is_infinite() {
                        return None;
                    }
                    a[i * n + i] = s.sqrt();
                } else {
                    a[i * n + j] = s / a[j * n + j];
                }
            }
        }
        i0 += rows;
    }
    let mut x = b.to_vec();
    for i in 0..n {
        let mut s = x[i];
        for j in 0..i {
            s -= a[i * n + j] * x[j];
        }
        x[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = x[i];
        for j in i + 1..n {
            s -= a[j * n + i] * x[j];
        }
        x[i] = s / a[i * n + i];
    }
    Some(x)
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
    fn cholesky_solves_and_rejects_indefinite() {
        let x = cholesky_solve(vec![4.0, 2.0, 2.0, 3.0], 2, &[2.0, 5.0]).unwrap();
        assert!((x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12, "{x:?}");
        assert!(cholesky_solve(vec![1.0, 2.0, 2.0, 1.0], 2, &[1.0, 1.0]).is_none());
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

    #[test]
    fn blocked_cholesky_is_the_row_by_row_one() {
        // An SPD matrix of a size that leaves a partial block: B'B + I.
        let n = 11;
        let b: Vec<f64> = (0..n * n).map(|t| ((t * 7919) % 37) as f64 / 9.0 - 2.0).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[k * n + i] * b[k * n + j]).sum::<f64>() + if i == j { 1.0 } else { 0.0 };
            }
        }
        let rhs: Vec<f64> = (0..n).map(|i| i as f64 - 3.0).collect();
        let x = cholesky_solve(a.clone(), n, &rhs).unwrap();
        // The plain row-by-row factorisation and substitutions.
        let mut l = a.clone();
        for i in 0..n {
            for j in 0..=i {
                let s = l[i * n + j] - dot(&l[i * n..i * n + j], &l[j * n..j * n + j]);
                l[i * n + j] = if i == j { s.sqrt() } else { s / l[j * n + j] };
            }
        }
        let mut z = rhs.clone();
        for i in 0..n {
            z[i] = (0..i).fold(z[i], |s, j| s - l[i * n + j] * z[j]) / l[i * n + i];
        }
        for i in (0..n).rev() {
            z[i] = (i + 1..n).fold(z[i], |s, j| s - l[j * n + i] * z[j]) / l[i * n + i];
        }
        assert_eq!(x, z);
        for i in 0..n {
            let back: f64 = (0..n).map(|j| a[i * n + j] * x[j]).sum();
            assert!((back - rhs[i]).abs() < 1e-9, "row {i}: {back}");
        }
    }

    #[test]
    fn solve_pivots() {
        let x = solve(vec![vec![0.0, 1.0], vec![2.0, 0.0]], vec![3.0, 4.0]).unwrap();
        assert_eq!(x, vec![2.0, 3.0]);
    }
}
