//! Nelder-Mead simplex minimisation, used to fit smoothing and ARMA parameters.
//!
//! Standard reflection/expansion/contraction/shrink coefficients (1, 2, 1/2, 1/2). Bounds are
//! the caller's business (they map unbounded coordinates into their box). A non-finite
//! objective value is treated as +infinity, so infeasible points are simply rejected.

#![allow(clippy::indexing_slicing)] // the simplex has dim + 1 vertices of length dim by construction

/// Minimum found and its objective value.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// Argument of the best vertex.
    pub x: Vec<f64>,
    /// Objective at `x`.
    pub value: f64,
    /// Objective evaluations used.
    pub evaluations: usize,
}

/// Minimises `f` from `start` with initial steps `step` (one per coordinate), stopping after
/// `max_evals` evaluations or when the simplex values agree to `tol` (relative).
pub fn nelder_mead(mut f: impl FnMut(&[f64]) -> f64, start: &[f64], step: &[f64], max_evals: usize, tol: f64) -> Minimum {
    let dim = start.len();
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(dim + 1);
    pts.push(start.to_vec());
    for i in 0..dim {
        let mut p = start.to_vec();
        p[i] += step.get(i).copied().unwrap_or(0.1);
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(p, &mut evals)).collect();
    if dim == 0 {
        return Minimum {
            x: Vec::new(),
            value: vals[0],
            evaluations: evals,
        };
    }
    while evals < max_evals {
        let mut order: Vec<usize> = (0..=dim).collect();
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = order.iter().map(|&i| pts[i].clone()).collect();
        vals = order.iter().map(|&i| vals[i]).collect();
        let best = vals[0];
        let worst = vals[dim];
        if worst.is_finite() && (worst - best).abs() <= tol * (best.abs() + 1e-300) {
            break;
        }
        let mut centroid = vec![0.0; dim];
        for p in &pts[..dim] {
            for (c, v) in centroid.iter_mut().zip(p) {
                *c += v / dim as f64;
            }
        }
        let along = |t: f64| -> Vec<f64> { centroid.iter().zip(&pts[dim]).map(|(c, w)| c + t * (w - c)).collect() };
        let xr = along(-1.0);
        let fr = eval(&xr, &mut evals);
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = eval(&xe, &mut evals);
            if fe < fr {
                pts[dim] = xe;
                vals[dim] = fe;
            } else {
                pts[dim] = xr;
                vals[dim] = fr;
            }
            continue;
        }
        if fr < vals[dim - 1] {
            pts[dim] = xr;
            vals[dim] = fr;
            continue;
        }
        let (xc, fc) = if fr < vals[dim] {
            let xc = along(-0.5);
            let fc = eval(&xc, &mut evals);
            (xc, fc)
        } else {
            let xc = along(0.5);
            let fc = eval(&xc, &mut evals);
            (xc, fc)
        };
        if fc < vals[dim].min(fr) {
            pts[dim] = xc;
            vals[dim] = fc;
            continue;
        }
        let b = pts[0].clone();
        for i in 1..=dim {
            pts[i] = b.iter().zip(&pts[i]).map(|(a, p)| a + 0.5 * (p - a)).collect();
            vals[i] = eval(&pts[i], &mut evals);
        }
    }
    let mut best = 0;
    for i in 1..vals.len() {
        if vals[i] < vals[best] {
            best = i;
        }
    }
    Minimum {
        x: pts[best].clone(),
        value: vals[best],
        evaluations: evals,
    }
}

/// Maps an unbounded coordinate into `(lo, hi)` with a logistic curve.
pub fn to_box(u: f64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) / (1.0 + (-u).exp())
}

/// Inverse of [`to_box`] for a value strictly inside the box.
pub fn from_box(v: f64, lo: f64, hi: f64) -> f64 {
    let p = ((v - lo) / (hi - lo)).clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rosenbrock_minimum() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(f, &[-1.2, 1.0], &[0.5, 0.5], 5000, 1e-14);
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn box_maps_round_trip() {
        let v = to_box(from_box(0.3, 0.0, 1.0), 0.0, 1.0);
        assert!((v - 0.3).abs() < 1e-12);
    }
}
