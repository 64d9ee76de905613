//! An ARIMA fit that does not learn from one-off spikes: the counterpart of
//! [`crate::ets::HoltWinters::despiked`].
//!
//! The points whose one-step error the despiking rule marks ([`crate::ets::DESPIKE_THRESHOLD`]
//! robust standard deviations from the median error) are replaced by their fitted values, and
//! the model of the same order is refitted by exact likelihood on that series, from its own
//! coefficients: the coefficients and the state the forecasts start from are then those of the
//! bulk of the data. The errors are taken against the series as it was, so that the intervals and
//! the bootstrap paths still carry the spikes. A forecasting candidate that the backtest serves
//! where it forecasts better (docs/analytics.md).

use super::Arima;
use crate::error::Result;
use crate::ets::{despike_points, spike_band};

impl Arima {
    /// This model refitted (same order, exact likelihood from these coefficients) to its series
    /// with the spikes replaced by their fitted values, its residuals and `css` then taken
    /// against the series itself. `None` when nothing is a spike, the model was not fitted by
    /// exact likelihood, or the refit does not converge or has no filter states.
    pub fn despiked(&self) -> Result<Option<Arima>> {
        if self.states.is_empty() || self.despiked {
            return Ok(None);
        }
        let (p, d) = (self.order.p, self.order.d);
        // resid[j] belongs to y[j + d]; the first p are the zeros CSS starts from.
        let Some((centre, limit)) = spike_band(self.resid.get(p..).unwrap_or(&[])) else {
            return Ok(None);
        };
        let error = |t: usize| t.checked_sub(d).filter(|j| *j >= p).and_then(|j| self.resid.get(j)).copied();
        let (cleaned, spikes) = despike_points(&self.y, error, (centre, limit));
        if spikes == 0 {
            return Ok(None);
        }
        let start = Arima {
            y: cleaned.clone(),
            ..self.clone()
        };
        let Some((theta, _)) = start.exact_optimum(None) else {
            return Ok(None);
        };
        let mut m = start.with_coefficients(&theta);
        // Without the filter's states its forecasts would come from the residuals, which are
        // about to be moved onto the raw series.
        if m.states.is_empty() {
            return Ok(None);
        }
        // Against the raw series: the one-step forecast of y[t] from the cleaned past is
        // cleaned[t] - e[t], so the raw error is e[t] + (y[t] - cleaned[t]).
        for (e, (r, c)) in m.resid.iter_mut().zip(self.y.iter().zip(&cleaned).skip(d)) {
            *e += r - c;
        }
        m.css = m.resid.get(p..).unwrap_or(&[]).iter().map(|e| e * e).sum();
        m.despiked = true;
        Ok(Some(m))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Order, fit, fit_css};

    #[test]
    fn spikes_leave_the_forecast_but_stay_in_the_residuals() {
        // AR(1) around 20 with a spike every 50 points.
        let mut y = vec![20.0; 600];
        for t in 1..y.len() {
            y[t] = 20.0 + 0.6 * (y[t - 1] - 20.0) + (t as f64 * 1.3).sin();
        }
        let mut spiky = y.clone();
        for t in (25..600).step_by(50) {
            spiky[t] += 40.0;
        }
        // The last point is a spike too.
        spiky[599] += 40.0;
        let order = Order { p: 1, d: 0, q: 0 };
        let plain = fit(&spiky, order).unwrap();
        let robust = plain.despiked().unwrap().unwrap();
        assert!(robust.despiked && robust.name() == "arima(1,0,0,despiked)", "{}", robust.name());
        // The spikes hide the autocorrelation from the plain fit, not from the despiked one,
        // which comes close to the fit of the series without spikes.
        let clean = fit(&y, order).unwrap();
        assert!(plain.ar[0] < robust.ar[0] - 0.15, "{:?} {:?}", plain.ar, robust.ar);
        assert!((robust.ar[0] - clean.ar[0]).abs() < 0.05, "{:?} {:?}", robust.ar, clean.ar);
        // Its forecast does not continue from the last point's spike.
        let from_spike = robust.mean + robust.ar[0] * (spiky[599] - robust.mean);
        let r0 = robust.forecast_from(600, 1)[0];
        assert!(from_spike > 28.0 && (r0 - 20.0).abs() < 3.0, "{r0}, from the spike {from_spike}");
        // The residuals are against the series as it was: the spikes are still in them.
        assert_eq!(robust.resid().len(), plain.resid().len());
        assert!(robust.resid().iter().filter(|e| **e > 20.0).count() >= 12);
        let css: f64 = robust.resid()[1..].iter().map(|e| e * e).sum();
        assert!((robust.css - css).abs() <= 1e-9 * css);
        // Its filter ran over the cleaned series: no in-sample SSE comparable with statsmodels'.
        assert_eq!(robust.innovation_sse(), None);
        assert!(plain.innovation_sse().is_some());
        // Nothing to do without spikes, for a CSS-only fit, or twice.
        assert_eq!(fit(&y, order).unwrap().despiked().unwrap(), None);
        assert_eq!(fit_css(&spiky, order).unwrap().despiked().unwrap(), None);
        assert_eq!(robust.despiked().unwrap(), None);
    }
}
