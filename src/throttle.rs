//! Log lines that a hostile or unlucky load could repeat thousands of times a second are
//! throttled: the first goes out, then at most one per interval, carrying how many were held
//! back. Ours call [`Throttle::admit`]; the `h2` crate's own warnings (a rapid-reset attack
//! makes one per attacking connection) go through [`H2Warnings`], a `tracing` layer.

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

/// Whether `meta` is one of the `h2` crate's warnings, which [`H2Warnings`] re-emits
/// throttled: the layer that writes the log should skip the originals.
pub fn is_h2_warning(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() == tracing::Level::WARN
        && (meta.target() == "h2" || meta.target().starts_with("h2::"))
}

/// A `tracing` layer that re-emits the `h2` crate's warnings through a [`Throttle`], as
/// `h2push::h2` warnings carrying how many were held back. (A layer cannot emit while it is
/// handling an event: `tracing` drops events dispatched from inside a dispatch. So the line goes
/// out from a short-lived thread, at most one per [`WARN_INTERVAL`].)
#[derive(Debug, Default)]
pub struct H2Warnings {
    throttle: Throttle,
    dispatch: std::sync::OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for H2Warnings {
    fn on_register_dispatch(&self, dispatch: &tracing::Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !is_h2_warning(event.metadata()) {
            return;
        }
        let Some(held) = self.throttle.admit() else {
            return;
        };
        let Some(dispatch) = self.dispatch.get().and_then(|weak| weak.upgrade()) else {
            return;
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        let _ = std::thread::Builder::new()
            .name("h2-warning".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    tracing::warn!(
                        target: "h2push::h2",
                        similar_warnings_held_back = held,
                        "h2: {}",
                        message.0
                    )
                })
            });
    }
}

/// An event's `message` field, as text.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h2_warnings_are_written_once_per_interval_with_a_count() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|m| !is_h2_warning(m)));
        let subscriber = tracing_subscriber::registry()
            .with(fmt)
            .with(H2Warnings::default());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                tracing::warn!(target: "h2::proto::streams", "locally-reset streams reached limit (1024)");
            }
            tracing::warn!(target: "h2push::serve", "ours");
        });
        let text = || String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        // The throttled line goes out from its own thread: wait for it.
        for _ in 0..100 {
            if text().contains("h2:") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = text();
        let h2: Vec<_> = text
            .lines()
            .filter(|l| l.contains("reached limit"))
            .collect();
        assert_eq!(h2.len(), 1, "{text}");
        assert!(
            h2[0].contains("h2: locally-reset streams reached limit (1024)"),
            "{text}"
        );
        assert!(text.contains("ours"), "ours are not throttled here: {text}");
    }

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
