//! Dense square solves: Gaussian elimination with partial pivoting, and the Cholesky solve behind
//! the Levenberg-Marquardt steps of the ARIMA and Holt-Winters fits.

#![allow(clippy::indexing_slicing)]
// lengths are checked on entry to each function
// Index loops mirror the published algorithms, which keeps them checkable against the papers.
#![allow(clippy::needless_range_loop)]

use super::{dot, dots};
use crate::error::{AnalyticsError, Result};

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
    fn cholesky_solves_and_rejects_indefinite() {
        let x = cholesky_solve(vec![4.0, 2.0, 2.0, 3.0], 2, &[2.0, 5.0]).unwrap();
        assert!((x[0] + 0.5).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12, "{x:?}");
        assert!(cholesky_solve(vec![1.0, 2.0, 2.0, 1.0], 2, &[1.0, 1.0]).is_none());
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
