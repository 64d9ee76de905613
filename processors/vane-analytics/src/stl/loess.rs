//! The loess smoother of STL: estimates at one abscissa (`est`) and over a series (`ess`),
//! following the reference Fortran with 1-based indices, plus the weight cache.

#![allow(clippy::indexing_slicing)]
// buffers are sized by the caller; bounds follow STL
#![allow(clippy::needless_range_loop, clippy::explicit_counter_loop)]

use crate::linalg::{dot, dots};

/// Loess weights of off-centre windows, kept across the inner passes and the cycle-subseries:
/// without robustness weights they depend only on the series length, the window and the
/// abscissa, not on the data, so each is computed once per decomposition.
#[derive(Default)]
pub(super) struct WeightCache {
    tables: Vec<WeightTable>,
}

struct WeightTable {
    n: usize,
    len: usize,
    ideg: usize,
    /// By abscissa `xs` (0..=n+1).
    rows: Vec<Option<WeightRow>>,
}

/// A window `nleft..=nright` and its weights (`None` when they all vanish).
#[derive(Clone)]
struct WeightRow {
    nleft: usize,
    nright: usize,
    weights: Option<Vec<f64>>,
}

impl WeightCache {
    /// [`est`] with the weights remembered.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn est(
        &mut self,
        y: &[f64],
        n: usize,
        len: usize,
        ideg: usize,
        xs: i64,
        nleft: usize,
        nright: usize,
        w: &mut [f64],
        userw: bool,
        rw: &[f64],
    ) -> Option<f64> {
        if userw || xs < 0 {
            return est(y, n, len, ideg, xs, nleft, nright, w, userw, rw);
        }
        let at = match self.tables.iter().position(|t| t.n == n && t.len == len && t.ideg == ideg) {
            Some(at) => at,
            None => {
                self.tables.push(WeightTable {
                    n,
                    len,
                    ideg,
                    rows: vec![None; n + 2],
                });
                self.tables.len() - 1
            }
        };
        let row = self.tables[at].rows.get_mut(xs as usize)?;
        if let Some(r) = row
            && r.nleft == nleft
            && r.nright == nright
        {
            return r.weights.as_ref().map(|k| dot(k, &y[nleft - 1..nright]));
        }
        let v = est(y, n, len, ideg, xs, nleft, nright, w, userw, rw);
        *row = Some(WeightRow {
            nleft,
            nright,
            weights: v.map(|_| w[nleft - 1..nright].to_vec()),
        });
        v
    }
}

/// Loess estimate at abscissa `xs` (1-based) from points `nleft..=nright` (1-based); `None`
/// when all weights vanish.
#[allow(clippy::too_many_arguments)]
fn est(
    y: &[f64],
    n: usize,
    len: usize,
    ideg: usize,
    xs: i64,
    nleft: usize,
    nright: usize,
    w: &mut [f64],
    userw: bool,
    rw: &[f64],
) -> Option<f64> {
    let range = n as f64 - 1.0;
    let mut h = ((xs - nleft as i64).max(nright as i64 - xs)) as f64;
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let h9 = 0.999 * h;
    let h1 = 0.001 * h;
    let mut a = 0.0;
    for j in nleft - 1..nright {
        w[j] = 0.0;
        let r = ((j as i64 + 1 - xs) as f64).abs();
        if r <= h9 {
            w[j] = if r <= h1 { 1.0 } else { (1.0 - (r / h).powi(3)).powi(3) };
            if userw {
                w[j] *= rw[j];
            }
            a += w[j];
        }
    }
    if a <= 0.0 {
        return None;
    }
    for wj in &mut w[nleft - 1..nright] {
        *wj /= a;
    }
    if h > 0.0 && ideg > 0 {
        let mut a = 0.0;
        for j in nleft - 1..nright {
            a += w[j] * (j + 1) as f64;
        }
        let mut b = xs as f64 - a;
        let mut c = 0.0;
        for j in nleft - 1..nright {
            c += w[j] * ((j + 1) as f64 - a).powi(2);
        }
        if c.sqrt() > 0.001 * range {
            b /= c;
            for j in nleft - 1..nright {
                w[j] *= b * ((j + 1) as f64 - a) + 1.0;
            }
        }
    }
    let mut ys = 0.0;
    for j in nleft - 1..nright {
        ys += w[j] * y[j];
    }
    Some(ys)
}

/// Loess smoothing of `y[..n]` into `ys[..n]`, evaluating every `njump` points and
/// interpolating linearly in between.
#[allow(clippy::too_many_arguments)]
pub(super) fn ess(
    y: &[f64],
    n: usize,
    len: usize,
    ideg: usize,
    njump: usize,
    userw: bool,
    rw: &[f64],
    ys: &mut [f64],
    res: &mut [f64],
    cache: &mut WeightCache,
) {
    if n < 2 {
        ys[0] = y[0];
        return;
    }
    let newnj = njump.min(n - 1);
    let mut nleft = 1usize;
    let mut nright = n;
    if len >= n {
        let mut i = 0;
        while i < n {
            ys[i] = cache
                .est(y, n, len, ideg, i as i64 + 1, nleft, nright, res, userw, rw)
                .unwrap_or(y[i]);
            i += newnj;
        }
    } else if newnj == 1 {
        let nsh = (len + 2) / 2;
        nright = len;
        // Without robustness weights, every point whose window is centred on it gets the same
        // weights (they depend only on distances): compute them once and reuse them.
        let half = (len - 1) / 2;
        let mut kernel: Vec<f64> = Vec::new();
        let mut i = 0;
        while i < n {
            if i + 1 > nsh && nright != n {
                nleft += 1;
                nright += 1;
            }
            let centred = !userw && len % 2 == 1 && i + 1 == nleft + half && nright == i + 1 + half;
            if centred && !kernel.is_empty() {
                // While the window can move three more points right, the next three points are
                // centred too: their windows are this one shifted by 1, 2 and 3, and one sweep
                // gives all four (each the same number as its own `dot`).
                if i + 1 >= nsh && nright + 3 <= n {
                    let a = nleft - 1;
                    let at = |r: usize| &y[a + r..a + r + len];
                    let four = dots(&kernel, [at(0), at(1), at(2), at(3)]);
                    ys[i..i + 4].copy_from_slice(&four);
                    nleft += 3;
                    nright += 3;
                    i += 4;
                } else {
                    ys[i] = dot(&kernel, &y[nleft - 1..nright]);
                    i += 1;
                }
                continue;
            }
            // The first centred point computes the shared kernel into `res`, bypassing the cache.
            let v = if centred {
                est(y, n, len, ideg, i as i64 + 1, nleft, nright, res, userw, rw)
            } else {
                cache.est(y, n, len, ideg, i as i64 + 1, nleft, nright, res, userw, rw)
            };
            ys[i] = v.unwrap_or(y[i]);
            if centred && v.is_some() {
                kernel.extend_from_slice(&res[nleft - 1..nright]);
            }
            i += 1;
        }
    } else {
        let nsh = len.div_ceil(2);
        let mut i = 0;
        while i < n {
            if i + 1 < nsh {
                nleft = 1;
                nright = len;
            } else if i + nsh >= n {
                nleft = n - len + 1;
                nright = n;
            } else {
                nleft = i + 1 - nsh + 1;
                nright = len + i + 1 - nsh;
            }
            ys[i] = cache
                .est(y, n, len, ideg, i as i64 + 1, nleft, nright, res, userw, rw)
                .unwrap_or(y[i]);
            i += newnj;
        }
    }
    if newnj == 1 {
        return;
    }
    let mut i = 0;
    while i < n - newnj {
        let delta = (ys[i + newnj] - ys[i]) / newnj as f64;
        for j in i..i + newnj {
            ys[j] = ys[i] + delta * ((j + 1) as f64 - (i + 1) as f64);
        }
        i += newnj;
    }
    let k = ((n - 1) / newnj) * newnj + 1;
    if k != n {
        ys[n - 1] = cache
            .est(y, n, len, ideg, n as i64, nleft, nright, res, userw, rw)
            .unwrap_or(y[n - 1]);
        if k != n - 1 {
            let delta = (ys[n - 1] - ys[k - 1]) / (n - k) as f64;
            for j in k..n {
                ys[j] = ys[k - 1] + delta * ((j + 1) as f64 - k as f64);
            }
        }
    }
}
