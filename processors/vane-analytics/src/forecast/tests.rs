//! Tests of the forecast models: intervals, bootstrap paths, analogues, refilters and the
//! candidates.

use super::*;

#[test]
fn linear_intervals_widen_and_contain_the_mean() {
    let y: Vec<f64> = (0..300).map(|t| 10.0 + ((t * 7919) % 17) as f64 / 4.0).collect();
    let c = fit_candidates(
        &y,
        &ForecastOptions {
            horizon: 5,
            period: None,
            max_pq: 1,
            d: None,
        },
    )
    .unwrap();
    for m in &c.models {
        let out = m.output(0.95);
        for k in 0..5 {
            assert!(out.lower[k] <= out.mean[k] && out.mean[k] <= out.upper[k]);
        }
        assert!(out.upper[4] - out.lower[4] >= out.upper[0] - out.lower[0] - 1e-9);
    }
}

#[test]
fn bootstrap_paths_respect_floor_and_grid_and_mix_in_analogues() {
    // Zero a third of the time, otherwise a few integer levels: a floor and a grid.
    let y: Vec<f64> = (0..600).map(|t| if t % 3 == 0 { 0.0 } else { ((t * 7) % 5) as f64 }).collect();
    let m = ForecastModel::from_arima(&arima::fit(&y, arima::Order { p: 1, d: 0, q: 0 }).unwrap(), 10).with_support_of(&y);
    let paths = m.bootstrap_paths(2000, 3);
    assert_eq!(paths.len(), 2000);
    for p in &paths {
        assert_eq!(p.len(), 10);
        for v in p {
            assert!(*v >= 0.0 && v.fract() == 0.0 && *v <= 4.0, "{v}");
        }
    }
    // Every other path is a window of the series itself.
    assert!(paths.iter().skip(1).step_by(2).all(|p| y.windows(10).any(|w| w == p.as_slice())));
    assert_eq!(m.bootstrap_paths(2000, 3), paths, "seeded");
}

#[test]
fn anchored_analogues_continue_from_the_last_value() {
    // A steady climb: past levels are far below the last value, past changes are +1.
    let y: Vec<f64> = (0..500).map(|t| t as f64 + ((t * 7) % 3) as f64 * 0.1).collect();
    let m = ForecastModel::from_arima(&arima::fit(&y, arima::Order { p: 0, d: 1, q: 0 }).unwrap(), 5)
        .with_support_of(&y)
        .anchored(true);
    let last = y[499];
    for p in m.bootstrap_paths(200, 9).iter().skip(1).step_by(2) {
        assert!((p[0] - (last + 1.0)).abs() <= 0.21, "{p:?} from {last}");
    }
}

#[test]
fn anchored_analogues_do_not_start_from_a_spike() {
    // A noisy climb that ends on a spike: the changes go on from the level before it.
    let mut y: Vec<f64> = (0..500).map(|t| t as f64 + (t as f64 * 1.7).sin() * 0.3).collect();
    y[499] += 300.0;
    let fitted = ForecastModel::from_arima(&arima::fit(&y, arima::Order { p: 0, d: 1, q: 0 }).unwrap(), 5);
    let m = fitted.clone().with_support_of(&y).anchored(true);
    for p in m.bootstrap_paths(200, 9).iter().skip(1).step_by(2) {
        assert!((p[0] - 500.0).abs() <= 2.0, "{p:?}");
    }
    // The order of the two calls does not matter.
    let other_order = fitted.anchored(true).with_support_of(&y);
    assert_eq!(other_order.bootstrap_paths(200, 9), m.bootstrap_paths(200, 9));
    // Unanchored, the levels are the series' own.
    assert!(m.clone().anchored(false).anchors.is_empty());
}

#[test]
fn refilter_continues_the_fitted_states() {
    let y: Vec<f64> = (0..400)
        .map(|t| 50.0 + 0.05 * t as f64 + 8.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() + ((t * 7919) % 13) as f64 / 6.0)
        .collect();
    let spec = HwSpec {
        trend: Component::Additive,
        damped: true,
        seasonal: Component::Additive,
        period: 24,
    };
    let hw = ForecastModel::from_holt_winters(ets::fit(&y, spec).unwrap(), 6);
    // The same points minus the first 30: the states at the end, so the forecast, are the same.
    let again = hw.refilter(&y[30..], 30).unwrap();
    for (a, b) in again.mean.iter().zip(&hw.mean) {
        assert!((a - b).abs() < 1e-9 * b.abs(), "{a} vs {b}");
    }
    // New points move the forecast; a skip past the sample is refused.
    let mut longer = y[30..].to_vec();
    longer.extend([90.0, 91.0, 92.0]);
    assert!(hw.refilter(&longer, 30).unwrap().mean[0] > hw.mean[0]);
    assert!(hw.refilter(&y, 401).is_err());

    let ar = ForecastModel::from_arima(&arima::fit(&y, arima::Order { p: 2, d: 1, q: 0 }).unwrap(), 6);
    let again = ar.refilter(&y[30..], 30).unwrap();
    for (a, b) in again.mean.iter().zip(&ar.mean) {
        assert!((a - b).abs() < 1e-9 * b.abs(), "{a} vs {b}");
    }
    assert_eq!(again.name, ar.name);
}

#[test]
fn a_seasonal_series_gets_the_smoothed_candidate_too() {
    let y: Vec<f64> = (0..400)
        .map(|t| 30.0 + [2.0, -1.0, 0.5, -1.5][t % 4] + ((t * 7919) % 11) as f64 / 5.0)
        .collect();
    let c = fit_candidates(
        &y,
        &ForecastOptions {
            horizon: 5,
            period: Some(4),
            max_pq: 1,
            d: Some(0),
        },
    )
    .unwrap();
    let names: Vec<&str> = c.models.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"holt_winters(trend=add,damped,seasonal=add,period=4)"), "{names:?}");
    assert!(
        names.contains(&"holt_winters(trend=add,damped,seasonal=add,period=4,season=smoothed)"),
        "{names:?}"
    );
    assert!(c.models.iter().all(|m| m.backtest_mae.is_some()));
}

#[test]
fn a_horizon_beyond_half_the_series_is_still_chosen_by_backtest() {
    // A trend the non-seasonal fits follow; 40 points, a 30-point horizon.
    let y: Vec<f64> = (0..40).map(|t| 5.0 + 0.5 * t as f64 + ((t * 7919) % 7) as f64 / 10.0).collect();
    let c = fit_candidates(
        &y,
        &ForecastOptions {
            horizon: 30,
            period: None,
            max_pq: 1,
            d: None,
        },
    )
    .unwrap();
    assert!(c.models.iter().all(|m| m.backtest_mae.is_some()));
    assert!(c.models.iter().all(|m| m.output(0.95).mean.len() == 30));
}

#[test]
fn quantile_interpolates() {
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
}

#[test]
fn quantile_by_selection_is_the_sorted_quantile() {
    let data: Vec<f64> = (0..1001).map(|t| ((t * 7919) % 997) as f64 / 7.0 - 40.0).collect();
    let mut sorted = data.clone();
    sorted.sort_by(f64::total_cmp);
    for q in [0.0, 0.025, 0.1, 0.5, 0.975, 0.999, 1.0] {
        let mut scratch = data.clone();
        assert_eq!(
            quantile_unsorted(&mut scratch, q).to_bits(),
            quantile(&sorted, q).to_bits(),
            "q {q}"
        );
    }
    assert!(quantile_unsorted(&mut [], 0.5).is_nan());
    assert_eq!(quantile_unsorted(&mut [3.0], 0.9), 3.0);
}
