//! Forecasts from a fitted Holt-Winters model: point forecasts from any origin inside the sample,
//! the impulse response of the path to one-step errors, and simulated future paths.

#![allow(clippy::indexing_slicing)] // origins are clamped to the filtered states, which have n + 1 slots

use super::{Component, HoltWinters, trend_comb};

impl HoltWinters {
    /// Point forecasts of `h` steps from the state before observation `origin` (so `origin = n`
    /// forecasts beyond the sample). `origin` must be at most `n`.
    pub fn forecast_from(&self, origin: usize, h: usize) -> Vec<f64> {
        let o = origin.min(self.nobs);
        let l = self.levels[o];
        let b = self.trends[o];
        let m = self.spec.m();
        let phi = self.params.phi;
        let mut out = Vec::with_capacity(h);
        let mut damp_sum = 0.0;
        let mut pow = 1.0;
        for k in 1..=h {
            pow *= phi;
            damp_sum += pow;
            let tr = match self.spec.trend {
                Component::None => l,
                Component::Additive => l + damp_sum * b,
                Component::Multiplicative => l * b.powf(damp_sum),
            };
            // Season index for step k from origin o: the slot written most recently for that phase.
            let idx = o + (k - 1) % m;
            let sv = self.seasons.get(idx).copied().unwrap_or(0.0);
            out.push(match self.spec.seasonal {
                Component::None => tr,
                Component::Additive => tr + sv,
                Component::Multiplicative => tr * sv,
            });
        }
        out
    }

    /// Impulse response of the forecast path to a unit one-step error (exact for linear models).
    pub fn psi(&self, h: usize) -> Vec<f64> {
        let p = &self.params;
        let m = self.spec.m();
        let has_season = self.spec.seasonal != Component::None;
        let mut out = Vec::with_capacity(h);
        let mut dl = p.alpha;
        let mut db = if self.spec.trend == Component::None {
            0.0
        } else {
            p.alpha * p.beta
        };
        let phi = p.phi;
        for j in 0..h {
            if j == 0 {
                out.push(1.0);
                continue;
            }
            let ds = if has_season && j % m == 0 { p.gamma } else { 0.0 };
            out.push(dl + phi * db + ds);
            dl += phi * db;
            db *= phi;
        }
        out
    }

    /// Simulates one future path of length `h` with the given standard-normal draws, feeding each
    /// simulated value back through the recursions.
    pub fn simulate(&self, h: usize, sigma: f64, draws: &mut impl FnMut() -> f64) -> Vec<f64> {
        self.simulate_from(self.nobs, h, sigma, draws)
    }

    /// [`Self::simulate`] from the state before observation `origin` (at most `n`) instead of
    /// the end of the sample: what the model would have simulated then.
    pub fn simulate_from(&self, origin: usize, h: usize, sigma: f64, draws: &mut impl FnMut() -> f64) -> Vec<f64> {
        let spec = &self.spec;
        let p = &self.params;
        let m = spec.m();
        let n = origin.min(self.nobs);
        let mut l = self.levels[n];
        let mut b = self.trends[n];
        // Only the slots the horizon reaches: all m when it wraps around, the first h otherwise.
        let mut season: Vec<f64> = (0..m.min(h)).map(|j| self.seasons.get(n + j).copied().unwrap_or(0.0)).collect();
        let mut out = Vec::with_capacity(h);
        for k in 0..h {
            let slot = k % m;
            let s = season[slot];
            let tc = trend_comb(spec, l, b, p.phi);
            let fc = match spec.seasonal {
                Component::None => tc,
                Component::Additive => tc + s,
                Component::Multiplicative => tc * s,
            };
            let yv = fc + sigma * draws();
            out.push(yv);
            let (deseason, seas_obs) = match spec.seasonal {
                Component::None => (yv, 0.0),
                Component::Additive => (yv - s, yv - tc),
                Component::Multiplicative => (yv / s, yv / tc),
            };
            let ln = p.alpha * deseason + (1.0 - p.alpha) * tc;
            b = match spec.trend {
                Component::None => 0.0,
                Component::Additive => p.beta * (ln - l) + (1.0 - p.beta) * p.phi * b,
                Component::Multiplicative => p.beta * (ln / l) + (1.0 - p.beta) * b.powf(p.phi),
            };
            l = ln;
            if spec.seasonal != Component::None {
                season[slot] = p.gamma * seas_obs + (1.0 - p.gamma) * s;
            }
        }
        out
    }
}
