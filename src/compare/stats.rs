//! The statistics `compare` reports, pure maths shared by the built-in client's rows and the
//! browser's: median, min and max, which run is "the median run", and round trips.

use serde::Serialize;

/// Median, min and max of a set of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Statistics of `values`; `None` when there are none (or any is NaN). An even count takes the
/// mean of the two middle values.
pub fn stats(values: &[f64]) -> Option<Stats> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Stats {
        median,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// Index of the run to show as "the median run": the lower middle one by value.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len().saturating_sub(1) / 2).copied()
}

/// Round trips the load took: how many RTTs fit in it (`None` without an emulated RTT).
pub fn round_trips(load_ms: f64, rtt_ms: f64) -> Option<f64> {
    (rtt_ms > 0.0).then(|| load_ms / rtt_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = stats(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(stats(&[7.0]).unwrap().median, 7.0);
        assert!(stats(&[]).is_none());
        assert!(stats(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn median_run_is_the_lower_middle() {
        assert_eq!(median_index(&[30.0, 10.0, 20.0]), Some(2));
        assert_eq!(median_index(&[40.0, 10.0, 30.0, 20.0]), Some(3));
        assert_eq!(median_index(&[5.0]), Some(0));
        assert_eq!(median_index(&[]), None);
    }

    #[test]
    fn round_trips_need_an_rtt() {
        assert_eq!(round_trips(250.0, 100.0), Some(2.5));
        assert_eq!(round_trips(250.0, 0.0), None);
    }
}
