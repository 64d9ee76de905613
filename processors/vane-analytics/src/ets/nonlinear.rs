//! Holt-Winters models with a multiplicative component. The errors are not linear in the initial
//! state, so the least-squares shortcut of [`super::linear`] does not apply directly; instead:
//!
//! - the initial seasonal indices start from the least-squares state of the additive analogue
//!   (converted to ratios), or from per-phase means of the first cycles when that fits worse;
//! - Nelder-Mead fits the smoothing parameters and the initial level and trend with the indices
//!   fixed, then Gauss-Newton steps move the indices with the rest fixed, and the two alternate.
//!   The Gauss-Newton step uses how an index reaches later errors through the seasonal recursion
//!   alone (`d e_{j + c m} / d s0_j = -(1 - gamma)^c` times the trend component), ignoring the small
//!   feedback through the level; a halving line search keeps every step an improvement.

#![allow(clippy::indexing_slicing)] // y has more than 2 m values, checked by fit

use super::linear::{STARTS, State0, best_state};
use super::{Component, HwParams, HwSpec, PHI_HI, PHI_LO, run, sse, trend_comb};
use crate::linalg::cholesky_solve;
use crate::optim::{from_box, nelder_mead, to_box};

/// Conventional initial values: the first cycle's mean, the change between the first two
/// cycles' means per step, and per-phase deviations (or ratios) averaged over up to four cycles.
pub(super) fn initial_state(spec: &HwSpec, y: &[f64]) -> (f64, f64, Vec<f64>) {
    let m = spec.m();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    if spec.seasonal == Component::None {
        let l0 = y[0];
        let b0 = match spec.trend {
            Component::None => 0.0,
            Component::Additive => y[1] - y[0],
            Component::Multiplicative => y[1] / y[0],
        };
        return (l0, b0, vec![0.0]);
    }
    let cycles = (y.len() / m).clamp(2, 4);
    let first = mean(&y[..m]);
    let second = mean(&y[m..2 * m]);
    let b0 = match spec.trend {
        Component::None => 0.0,
        Component::Additive => (second - first) / m as f64,
        Component::Multiplicative => (second / first).powf(1.0 / m as f64),
    };
    let mut s0 = vec![0.0; m];
    for (j, sj) in s0.iter_mut().enumerate() {
        let mut acc = 0.0;
        for c in 0..cycles {
            let t = c * m + j;
            let base = mean(&y[c * m..(c + 1) * m]);
            acc += match spec.seasonal {
                Component::Multiplicative => y[t] / base,
                _ => y[t] - base,
            };
        }
        *sj = acc / cycles as f64;
    }
    (first, b0, s0)
}

/// An additive state converted to multiplicative initial values: the additive analogue's
/// least-squares state at nearly fixed smoothing unless one is given; `None` when it does not
/// apply (non-positive level or indices).
fn seeded_state(spec: &HwSpec, y: &[f64], additive: Option<&HwParams>) -> Option<(f64, f64, Vec<f64>)> {
    let trend = spec.trend != Component::None;
    let x0 = match additive {
        Some(a) => State0 {
            l0: a.l0,
            b0: a.b0,
            s0: a.s0.clone(),
        },
        None => best_state(y, STARTS[0], trend, spec.m())?.0,
    };
    if x0.l0 <= 0.0 || x0.s0.len() != spec.m() {
        return None;
    }
    let b0 = match spec.trend {
        Component::Multiplicative => 1.0 + x0.b0 / x0.l0,
        _ => x0.b0,
    };
    let s0: Vec<f64> = match spec.seasonal {
        Component::Multiplicative => x0.s0.iter().map(|s| 1.0 + s / x0.l0).collect(),
        _ => x0.s0,
    };
    if spec.trend == Component::Multiplicative && b0 <= 0.0 {
        return None;
    }
    if spec.seasonal == Component::Multiplicative && s0.iter().any(|s| *s <= 0.0) {
        return None;
    }
    Some((x0.l0, b0, s0))
}

/// One Gauss-Newton step on the initial seasonal indices (see the module comment), with a
/// halving line search. Returns the new indices and SSE when they improve on `current`.
fn seasonal_step(spec: &HwSpec, p: &HwParams, y: &[f64], current: f64) -> Option<(Vec<f64>, f64)> {
    let m = spec.m();
    let r = run(spec, p, y, true);
    let mut num = vec![0.0; m];
    let mut den = vec![0.0; m];
    let mut w = 1.0;
    for (t, &yt) in y.iter().enumerate() {
        let j = t % m;
        if j == 0 && t > 0 {
            w *= 1.0 - p.gamma;
        }
        let tc = trend_comb(spec, r.levels[t], r.trends[t], p.phi);
        let s = r.seasons[t];
        let (fc, d) = match spec.seasonal {
            Component::Multiplicative => (tc * s, tc),
            _ => (tc + s, 1.0),
        };
        let e = yt - fc;
        num[j] += w * d * e;
        den[j] += w * w * d * d;
    }
    let delta: Vec<f64> = num.iter().zip(&den).map(|(a, b)| if *b > 0.0 { a / b } else { 0.0 }).collect();
    line_search(spec, p, y, current, &delta)
}

/// The step `delta` on the initial indices, halved up to four times until the SSE falls below
/// `current`: the new indices and SSE, or `None`.
fn line_search(spec: &HwSpec, p: &HwParams, y: &[f64], current: f64, delta: &[f64]) -> Option<(Vec<f64>, f64)> {
    let mut step = 1.0;
    for _ in 0..5 {
        let mut q = p.clone();
        for (s, d) in q.s0.iter_mut().zip(delta) {
            *s += step * d;
        }
        let v = run(spec, &q, y, false).sse;
        if v < current {
            return Some((q.s0, v));
        }
        step *= 0.5;
    }
    None
}

/// Seasonal periods up to this size take exact Gauss-Newton steps (forward tangents of the whole
/// state, `O(n m^2)`); longer ones the diagonal step above.
const EXACT_MAX_PERIOD: usize = 48;

/// One exact Gauss-Newton step on the initial seasonal indices, with a halving line search:
/// the Jacobian of the errors comes from propagating the derivative of every state component
/// with respect to every index through the recursions.
fn seasonal_step_exact(spec: &HwSpec, p: &HwParams, y: &[f64], current: f64) -> Option<(Vec<f64>, f64)> {
    let m = spec.m();
    let mul_trend = spec.trend == Component::Multiplicative;
    let mul_season = spec.seasonal == Component::Multiplicative;
    let (alpha, beta, gamma, phi) = (p.alpha, p.beta, p.gamma, p.phi);
    let mut ring = p.s0.clone();
    let (mut l, mut b) = (p.l0, p.b0);
    // Tangents: dl[j], db[j], dring[slot * m + j] = d ring[slot] / d s0[j].
    let mut dl = vec![0.0; m];
    let mut db = vec![0.0; m];
    let mut dring = vec![0.0; m * m];
    for j in 0..m {
        dring[j * m + j] = 1.0;
    }
    let mut jtj = vec![0.0; m * m];
    let mut jte = vec![0.0; m];
    let mut de = vec![0.0; m];
    let mut dtc = vec![0.0; m];
    for (t, &yt) in y.iter().enumerate() {
        let slot = t % m;
        let sv = ring[slot];
        let tc = trend_comb(spec, l, b, phi);
        let (gl, gb) = if mul_trend {
            (b.powf(phi), l * phi * b.powf(phi - 1.0))
        } else {
            (1.0, phi)
        };
        let ds = &dring[slot * m..(slot + 1) * m];
        for j in 0..m {
            dtc[j] = gl * dl[j] + gb * db[j];
            de[j] = if mul_season {
                -(dtc[j] * sv + tc * ds[j])
            } else {
                -(dtc[j] + ds[j])
            };
        }
        let fc = if mul_season { tc * sv } else { tc + sv };
        let e = yt - fc;
        for i in 0..m {
            jte[i] += de[i] * e;
            if de[i] != 0.0 {
                for j in i..m {
                    jtj[i * m + j] += de[i] * de[j];
                }
            }
        }
        let (deseason, seas_obs) = if mul_season { (yt / sv, yt / tc) } else { (yt - sv, yt - tc) };
        let ln = alpha * deseason + (1.0 - alpha) * tc;
        let bn = if mul_trend {
            beta * (ln / l) + (1.0 - beta) * b.powf(phi)
        } else {
            beta * (ln - l) + (1.0 - beta) * phi * b
        };
        for j in 0..m {
            let (d_des, d_obs) = if mul_season {
                (-yt / (sv * sv) * ds[j], -yt / (tc * tc) * dtc[j])
            } else {
                (-ds[j], -dtc[j])
            };
            let dln = alpha * d_des + (1.0 - alpha) * dtc[j];
            let dbn = if mul_trend {
                beta * (dln / l - ln * dl[j] / (l * l)) + (1.0 - beta) * phi * b.powf(phi - 1.0) * db[j]
            } else {
                beta * (dln - dl[j]) + (1.0 - beta) * phi * db[j]
            };
            let dsn = gamma * d_obs + (1.0 - gamma) * ds[j];
            dl[j] = dln;
            db[j] = dbn;
            de[j] = dsn; // reuse as scratch for the new slot tangent
        }
        dring[slot * m..(slot + 1) * m].copy_from_slice(&de);
        ring[slot] = gamma * seas_obs + (1.0 - gamma) * sv;
        l = ln;
        b = bn;
    }
    for i in 0..m {
        for j in 0..i {
            jtj[i * m + j] = jtj[j * m + i];
        }
        jtj[i * m + i] *= 1.0 + 1e-10;
        jtj[i * m + i] += 1e-300;
    }
    let neg: Vec<f64> = jte.iter().map(|v| -v).collect();
    let delta = cholesky_solve(jtj, m, &neg)?;
    line_search(spec, p, y, current, &delta)
}

/// Smoothing parameters and initial state minimising the SSE, or `None`. `seed`, the fit of
/// the same model with an additive season, gives a starting point.
pub(super) fn fit_nonlinear(y: &[f64], spec: &HwSpec, seed: Option<&HwParams>) -> Option<HwParams> {
    let spec = *spec;
    let has_trend = spec.trend != Component::None;
    let has_season = spec.seasonal != Component::None;
    let damped = spec.damped && has_trend;
    let scale = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64 + 1e-12;
    let b_scale = if spec.trend == Component::Multiplicative { 1.0 } else { scale };
    // Coordinates: alpha, [beta], [gamma], [phi], l0/scale, [b0/b_scale]; s0 rides along.
    let unpack = |u: &[f64], s0: &[f64]| -> HwParams {
        let mut it = u.iter().copied();
        let mut next = || it.next().unwrap_or(0.0);
        let alpha = to_box(next(), 0.0, 1.0);
        let beta = if has_trend { to_box(next(), 0.0, 1.0) } else { 0.0 };
        let gamma = if has_season { to_box(next(), 0.0, 1.0) } else { 0.0 };
        let phi = if damped { to_box(next(), PHI_LO, PHI_HI) } else { 1.0 };
        let l = next() * scale;
        let b = if has_trend { next() * b_scale } else { 0.0 };
        HwParams {
            alpha,
            beta,
            gamma,
            phi,
            l0: l,
            b0: b,
            s0: s0.to_vec(),
        }
    };
    let pack = |p: &HwParams| -> Vec<f64> {
        let mut u = vec![from_box(p.alpha, 0.0, 1.0)];
        if has_trend {
            u.push(from_box(p.beta, 0.0, 1.0));
        }
        if has_season {
            u.push(from_box(p.gamma, 0.0, 1.0));
        }
        if damped {
            u.push(from_box(p.phi, PHI_LO, PHI_HI));
        }
        u.push(p.l0 / scale);
        if has_trend {
            u.push(p.b0 / b_scale);
        }
        u
    };
    let mut ring = Vec::with_capacity(spec.m());
    let mut sse_of = |p: &HwParams| {
        let v = sse(&spec, p, y, &mut ring);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    // Starting state: the better of the seeded and the per-phase-mean initial values, both
    // judged at the same smoothing parameters.
    let k = STARTS[1];
    let with = |(l0, b0, s0): (f64, f64, Vec<f64>)| HwParams {
        alpha: k.alpha,
        beta: if has_trend { k.beta } else { 0.0 },
        gamma: if has_season { k.gamma } else { 0.0 },
        phi: if damped { k.phi } else { 1.0 },
        l0,
        b0,
        s0,
    };
    let mut p = with(initial_state(&spec, y));
    let mut value = sse_of(&p);
    if has_season && let Some(state) = seeded_state(&spec, y, seed) {
        let mut q = with(state);
        if let Some(a) = seed {
            // The additive fit's smoothing parameters are a close start too.
            (q.alpha, q.beta, q.gamma, q.phi) = (a.alpha, a.beta, a.gamma, a.phi);
        }
        let v = sse_of(&q);
        if v < value {
            p = q;
            value = v;
        }
    }
    for round in 0..5 {
        let s0 = p.s0.clone();
        let objective = |u: &[f64]| sse_of(&unpack(u, &s0));
        let u0 = pack(&p);
        let (step, evals) = if round == 0 { (1.0, 200) } else { (0.3, 60) };
        let nm = nelder_mead(objective, &u0, &vec![step; u0.len()], evals, 1e-8);
        let before = value;
        if nm.value < value {
            p = unpack(&nm.x, &s0);
            value = nm.value;
        }
        if has_season {
            // Gauss-Newton steps are cheap next to a simplex round: take them while they pay.
            for _ in 0..10 {
                let stepped = if spec.m() <= EXACT_MAX_PERIOD {
                    seasonal_step_exact(&spec, &p, y, value)
                } else {
                    seasonal_step(&spec, &p, y, value)
                };
                let Some((s0, v)) = stepped else {
                    break;
                };
                let gain = value - v;
                p.s0 = s0;
                value = v;
                if gain <= 1e-5 * value {
                    break;
                }
            }
        }
        // Later rounds gain little; stop at 0.03 % (the parity criterion is 1 %).
        if !has_season || before - value <= 3e-4 * value {
            break;
        }
    }
    value.is_finite().then_some(p)
}
