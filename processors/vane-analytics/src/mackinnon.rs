//! MacKinnon's approximate p-values (1994 response surfaces, as updated in statsmodels) and
//! finite-sample critical values (MacKinnon 2010) for the Dickey-Fuller statistic, N = 1 only.
//!
//! The numbers are MacKinnon's published coefficients, transcribed from the papers' tables as
//! statsmodels' `adfvalues` module lists them; the code evaluating them is this crate's.

use crate::adf::Regression;
use crate::normal::norm_cdf;

struct PTable {
    tau_max: f64,
    tau_min: f64,
    tau_star: f64,
    /// Coefficients of the polynomial in the statistic, constant first (already scaled).
    small_p: [f64; 3],
    large_p: [f64; 4],
}

fn p_table(regression: Regression) -> PTable {
    match regression {
        Regression::None => PTable {
            tau_max: f64::INFINITY,
            tau_min: -19.04,
            tau_star: -1.04,
            small_p: [0.6344, 1.2378, 3.2496e-2],
            large_p: [0.4797, 9.3557e-1, -0.6999e-1, 3.3066e-2],
        },
        Regression::Constant => PTable {
            tau_max: 2.74,
            tau_min: -18.83,
            tau_star: -1.61,
            small_p: [2.1659, 1.4412, 3.8269e-2],
            large_p: [1.7339, 9.3202e-1, -1.2745e-1, -1.0368e-2],
        },
        Regression::ConstantTrend => PTable {
            tau_max: 0.7,
            tau_min: -16.18,
            tau_star: -2.89,
            small_p: [3.2512, 1.6047, 4.9588e-2],
            large_p: [2.5261, 6.1654e-1, -3.7956e-1, -6.0285e-2],
        },
        Regression::ConstantTrendSquared => PTable {
            tau_max: 0.54,
            tau_min: -17.17,
            tau_star: -3.21,
            small_p: [4.0003, 1.658, 4.8288e-2],
            large_p: [3.0778, 4.9529e-1, -4.1477e-1, -5.9359e-2],
        },
    }
}

/// Approximate p-value of an ADF t statistic (one I(1) series).
pub fn mackinnonp(stat: f64, regression: Regression) -> f64 {
    let t = p_table(regression);
    if stat > t.tau_max {
        return 1.0;
    }
    if stat < t.tau_min {
        return 0.0;
    }
    let z = if stat <= t.tau_star {
        let c = t.small_p;
        c[0] + stat * (c[1] + stat * c[2])
    } else {
        let c = t.large_p;
        c[0] + stat * (c[1] + stat * (c[2] + stat * c[3]))
    };
    norm_cdf(z)
}

/// Critical values at 1 %, 5 % and 10 % for a regression with `nobs` observations.
pub fn mackinnoncrit(regression: Regression, nobs: usize) -> [f64; 3] {
    let table: [[f64; 4]; 3] = match regression {
        Regression::None => [
            [-2.56574, -2.2358, -3.627, 0.0],
            [-1.94100, -0.2686, -3.365, 31.223],
            [-1.61682, 0.2656, -2.714, 25.364],
        ],
        Regression::Constant => [
            [-3.43035, -6.5393, -16.786, -79.433],
            [-2.86154, -2.8903, -4.234, -40.040],
            [-2.56677, -1.5384, -2.809, 0.0],
        ],
        Regression::ConstantTrend => [
            [-3.95877, -9.0531, -28.428, -134.155],
            [-3.41049, -4.3904, -9.036, -45.374],
            [-3.12705, -2.5856, -3.925, -22.380],
        ],
        Regression::ConstantTrendSquared => [
            [-4.37113, -11.5882, -35.819, -334.047],
            [-3.83239, -5.9057, -12.490, -118.284],
            [-3.55326, -3.6596, -5.293, -63.559],
        ],
    };
    let x = 1.0 / nobs as f64;
    let mut out = [0.0; 3];
    for (o, c) in out.iter_mut().zip(table.iter()) {
        // Horner from the highest power, as numpy.polyval does.
        *o = ((c[3] * x + c[2]) * x + c[1]) * x + c[0];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // statsmodels: mackinnonp(-2.0, 'c'), mackinnoncrit(1, 'c', 100).
        let p = mackinnonp(-2.0, Regression::Constant);
        assert!((p - 0.286_573_099_168_431_54).abs() < 1e-14, "{p}");
        let c = mackinnoncrit(Regression::Constant, 100);
        assert!((c[0] - -3.497_501_03).abs() < 1e-8, "{c:?}");
        assert!((c[1] - -2.890_906_44).abs() < 1e-8, "{c:?}");
        assert_eq!(mackinnonp(5.0, Regression::Constant), 1.0);
        assert_eq!(mackinnonp(-50.0, Regression::Constant), 0.0);
    }
}
