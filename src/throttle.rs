//! Log lines that a hostile or unlucky load could repeat thousands of times a second are
//! throttled: the first goes out, then at most one per interval, carrying how many were held
//! back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a throttled warning may repeat.
pub const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// One kind of repeated warning.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<Option<(Instant, u64)>>,
}

impl Throttle {
    pub const fn new() -> Self {
        Throttle {
            state: Mutex::new(None),
        }
    }

    /// `Some(suppressed)` when this occurrence should be logged, with how many were held back
    /// since the last one that was; `None` to stay quiet.
    pub fn admit(&self) -> Option<u64> {
        let mut state = self.state.lock().expect("throttle poisoned");
        let now = Instant::now();
        match &mut *state {
            Some((last, held)) if now.duration_since(*last) < WARN_INTERVAL => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                let suppressed = std::mem::take(held);
                *last = now;
                Some(suppressed)
            }
            None => {
                *state = Some((now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_goes_out_then_repeats_are_held() {
        let throttle = Throttle::new();
        assert_eq!(throttle.admit(), Some(0));
        assert_eq!(throttle.admit(), None);
        assert_eq!(throttle.admit(), None);
        *throttle.state.lock().unwrap() = Some((Instant::now() - WARN_INTERVAL, 2));
        assert_eq!(
            throttle.admit(),
            Some(2),
            "the next line says two were held"
        );
    }
}
