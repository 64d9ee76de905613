//! STL: seasonal-trend decomposition by loess (Cleveland et al. 1990), following the reference
//! Fortran algorithm as statsmodels' `STL` runs it, so results agree to rounding.
//!
//! Defaults are statsmodels': seasonal smoother 7, trend smoother the next odd integer at or
//! above `1.5 p / (1 - 1.5 / seasonal)`, low-pass the next odd integer above `p`, local linear
//! fits, jumps of 1, not robust (5 inner passes, no outer pass); robust fitting uses 2 inner and
//! 15 outer passes with bisquare weights. Indices in the loess helpers are 1-based like the
//! original so the arithmetic (window bounds, distances) matches it exactly. Without robustness
//! weights the loess weights of every centred window are the same, so they are computed once per
//! smoother and reused, and the off-centre ones are remembered across passes and subseries
//! (agreeing with recomputation to rounding).

#![allow(clippy::indexing_slicing)]
// buffers are sized n + 2 period up front; bounds follow STL
// Index loops mirror the published algorithms, which keeps them checkable against the papers.
#![allow(clippy::needless_range_loop, clippy::explicit_counter_loop)]

use serde::Serialize;

use crate::error::{AnalyticsError, Result, check_finite};

mod loess;

use loess::{WeightCache, ess};

/// Parameters of [`stl`]; [`StlOptions::new`] gives statsmodels' defaults for a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StlOptions {
    /// Seasonal period, at least 2.
    pub period: usize,
    /// Seasonal smoother length, odd, at least 3.
    pub seasonal: usize,
    /// Trend smoother length, odd, greater than period.
    pub trend: usize,
    /// Low-pass filter length, odd, greater than period.
    pub low_pass: usize,
    /// Degrees (0 or 1) of the seasonal, trend and low-pass loess fits.
    pub degrees: [usize; 3],
    /// Jumps of the seasonal, trend and low-pass smoothers.
    pub jumps: [usize; 3],
    /// Use robustness weights.
    pub robust: bool,
}

impl StlOptions {
    /// statsmodels' defaults for `period`.
    pub fn new(period: usize) -> Self {
        let seasonal = 7usize;
        let mut trend = (1.5 * period as f64 / (1.0 - 1.5 / seasonal as f64)).ceil() as usize;
        trend += usize::from(trend.is_multiple_of(2));
        let mut low_pass = period + 1;
        low_pass += usize::from(low_pass.is_multiple_of(2));
        Self {
            period,
            seasonal,
            trend,
            low_pass,
            degrees: [1, 1, 1],
            jumps: [1, 1, 1],
            robust: false,
        }
    }
}

/// Components of an STL decomposition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StlResult {
    /// Seasonal period in samples.
    pub period: usize,
    /// Trend component.
    pub trend: Vec<f64>,
    /// Seasonal component.
    pub seasonal: Vec<f64>,
    /// Remainder, `x - trend - seasonal`.
    pub resid: Vec<f64>,
}

/// STL decomposition of `x`.
pub fn stl(x: &[f64], o: &StlOptions) -> Result<StlResult> {
    check_finite(x)?;
    let bad = |name: &'static str, reason: String| Err(AnalyticsError::InvalidArgument { name, reason });
    if o.period < 2 {
        return bad("period", format!("must be at least 2, got {}", o.period));
    }
    if o.seasonal < 3 || o.seasonal.is_multiple_of(2) {
        return bad("seasonal", format!("must be odd and at least 3, got {}", o.seasonal));
    }
    if o.trend < 3 || o.trend.is_multiple_of(2) || o.trend <= o.period {
        return bad("trend", format!("must be odd, at least 3 and above the period, got {}", o.trend));
    }
    if o.low_pass < 3 || o.low_pass.is_multiple_of(2) || o.low_pass <= o.period {
        return bad(
            "low_pass",
            format!("must be odd, at least 3 and above the period, got {}", o.low_pass),
        );
    }
    if o.degrees.iter().any(|&d| d > 1) || o.jumps.contains(&0) {
        return bad("degrees", "degrees must be 0 or 1 and jumps positive".to_string());
    }
    let n = x.len();
    if n < 2 * o.period {
        return Err(AnalyticsError::TooShort {
            what: format!("stl with period {}", o.period),
            needed: 2 * o.period,
            given: n,
        });
    }
    let (inner, outer) = if o.robust { (2, 15) } else { (5, 0) };
    let mut st = State::new(x, *o);
    let mut k = 0;
    loop {
        st.one_step(inner);
        k += 1;
        if k > outer {
            break;
        }
        st.robustness_weights();
        st.use_rw = true;
    }
    let resid = (0..n).map(|i| x[i] - st.season[i] - st.trend[i]).collect();
    Ok(StlResult {
        period: o.period,
        trend: st.trend,
        seasonal: st.season,
        resid,
    })
}

struct State<'a> {
    y: &'a [f64],
    o: StlOptions,
    trend: Vec<f64>,
    season: Vec<f64>,
    rw: Vec<f64>,
    use_rw: bool,
    w: [Vec<f64>; 5],
    cache: WeightCache,
}

impl<'a> State<'a> {
    fn new(y: &'a [f64], o: StlOptions) -> Self {
        let n = y.len();
        let m = n + 2 * o.period;
        Self {
            y,
            o,
            trend: vec![0.0; n],
            season: vec![0.0; n],
            rw: vec![1.0; n],
            use_rw: false,
            cache: WeightCache::default(),
            w: [vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m]],
        }
    }

    fn one_step(&mut self, inner: usize) {
        let n = self.y.len();
        let np = self.o.period;
        for _ in 0..inner {
            for i in 0..n {
                self.w[0][i] = self.y[i] - self.trend[i];
            }
            self.seasonal_smooth();
            self.low_pass_filter();
            let [w0, w1, w2, w3, w4] = &mut self.w;
            ess(
                w2,
                n,
                self.o.low_pass,
                self.o.degrees[2],
                self.o.jumps[2],
                false,
                w3,
                w0,
                w4,
                &mut self.cache,
            );
            for i in 0..n {
                self.season[i] = w1[np + i] - w0[i];
                w0[i] = self.y[i] - self.season[i];
            }
            ess(
                w0,
                n,
                self.o.trend,
                self.o.degrees[1],
                self.o.jumps[1],
                self.use_rw,
                &self.rw,
                &mut self.trend,
                w2,
                &mut self.cache,
            );
        }
    }

    /// Smooths each cycle-subseries and extends it by one period at both ends, into `w[1]`.
    fn seasonal_smooth(&mut self) {
        let n = self.y.len();
        let np = self.o.period;
        let ns = self.o.seasonal;
        let deg = self.o.degrees[0];
        let [w0, w1, w2, w3, w4] = &mut self.w;
        let scratch = &mut self.season;
        for j in 0..np {
            let k = (n - (j + 1)) / np + 1;
            for i in 0..k {
                w2[i] = w0[i * np + j];
            }
            if self.use_rw {
                for i in 0..k {
                    w4[i] = self.rw[i * np + j];
                }
            }
            let cache = &mut self.cache;
            ess(w2, k, ns, deg, self.o.jumps[0], self.use_rw, w4, &mut w3[1..], scratch, cache);
            let nright = ns.min(k);
            w3[0] = cache.est(w2, k, ns, deg, 0, 1, nright, scratch, self.use_rw, w4).unwrap_or(w3[1]);
            let nleft = if k + 1 > ns { k - ns + 1 } else { 1 };
            w3[k + 1] = cache
                .est(w2, k, ns, deg, k as i64 + 1, nleft, k, scratch, self.use_rw, w4)
                .unwrap_or(w3[k]);
            for m in 0..k + 2 {
                w1[m * np + j] = w3[m];
            }
        }
    }

    /// Moving averages of lengths p, p and 3 over the extended seasonal, into `w[2][..n]`.
    fn low_pass_filter(&mut self) {
        let n = self.y.len() + 2 * self.o.period;
        let np = self.o.period;
        let [w0, w1, w2, _, _] = &mut self.w;
        moving_average(w1, n, np, w2);
        moving_average(w2, n - np + 1, np, w0);
        moving_average(w0, n - 2 * np + 2, 3, w2);
    }

    fn robustness_weights(&mut self) {
        let n = self.y.len();
        let mut r: Vec<f64> = (0..n).map(|i| (self.y[i] - (self.trend[i] + self.season[i])).abs()).collect();
        let mut sorted = r.clone();
        sorted.sort_by(f64::total_cmp);
        let m0 = n / 2;
        let m1 = n - m0 - 1;
        let cmad = 3.0 * (sorted[m0] + sorted[m1]);
        if cmad == 0.0 {
            self.rw.iter_mut().for_each(|v| *v = 1.0);
            return;
        }
        let c9 = 0.999 * cmad;
        let c1 = 0.001 * cmad;
        for v in &mut r {
            *v = if *v <= c1 {
                1.0
            } else if *v <= c9 {
                let u = *v / cmad;
                (1.0 - u * u).powi(2)
            } else {
                0.0
            };
        }
        self.rw = r;
    }
}

fn moving_average(x: &[f64], n: usize, len: usize, ave: &mut [f64]) {
    let newn = n - len + 1;
    let flen = len as f64;
    let mut v = 0.0;
    for xi in x.iter().take(len) {
        v += xi;
    }
    ave[0] = v / flen;
    let mut k = len;
    let mut m = 0;
    for a in ave.iter_mut().take(newn).skip(1) {
        v += x[k] - x[m];
        *a = v / flen;
        k += 1;
        m += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_statsmodels() {
        let o = StlOptions::new(288);
        assert_eq!((o.seasonal, o.trend, o.low_pass), (7, 551, 289));
        let o = StlOptions::new(12);
        assert_eq!((o.trend, o.low_pass), (23, 13));
    }

    #[test]
    fn components_add_up_and_recover_a_clean_season() {
        let season = [2.0, -1.0, 0.0, -1.0, 0.5, -0.5];
        let x: Vec<f64> = (0..120).map(|t| 5.0 + 0.05 * t as f64 + season[t % 6]).collect();
        let r = stl(&x, &StlOptions::new(6)).unwrap();
        for t in 0..x.len() {
            assert!((r.trend[t] + r.seasonal[t] + r.resid[t] - x[t]).abs() < 1e-12);
        }
        for t in 30..90 {
            assert!((r.seasonal[t] - season[t % 6]).abs() < 0.05, "t={t}");
        }
        let robust = StlOptions {
            robust: true,
            ..StlOptions::new(6)
        };
        assert!(stl(&x, &robust).is_ok());
    }
}
