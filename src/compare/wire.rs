//! Puts `--trace` in wire order. The loader notes what it saw when its tasks get round to it,
//! and a 103 read by one task can be noted after a PUSH_PROMISE read later by another. Each
//! received event names the frame it came from; this finds that frame in the connection's
//! frame log (every frame header as it was read, after TLS) and gives the event the frame's
//! time, then sorts.

use std::time::Instant;

use serde::Serialize;

use crate::client::{FrameHeader, FrameKind, FLAG_END_STREAM};

/// The frame a received trace event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Wire {
    /// The next HEADERS frame on this stream (a 103, then the response).
    Headers(u32),
    /// The next PUSH_PROMISE frame on this (parent) stream.
    PushPromise(u32),
    /// The frame that ended this stream.
    EndStream(u32),
}

impl Wire {
    fn matches(self, frame: &FrameHeader) -> bool {
        match self {
            Wire::Headers(s) => frame.kind == FrameKind::Headers && frame.stream_id == s,
            Wire::PushPromise(s) => frame.kind == FrameKind::PushPromise && frame.stream_id == s,
            Wire::EndStream(s) => {
                matches!(frame.kind, FrameKind::Data | FrameKind::Headers)
                    && frame.stream_id == s
                    && frame.flags & FLAG_END_STREAM != 0
            }
        }
    }
}

/// One `--trace` line, positioned on the wire when it came from a frame.
pub trait Timed {
    fn wire(&self) -> Option<Wire>;
    fn set_at_ms(&mut self, at_ms: f64);
    fn at_ms(&self) -> f64;
}

/// Gives each received event the time its frame was read (`frames` times count from
/// `log_started`, events' from `ready`) and sorts the events by time, keeping the order of
/// equal times. Events whose frame is not in the log keep the time they were noted.
pub fn wire_order<T: Timed>(
    events: &mut [T],
    frames: &[FrameHeader],
    log_started: Instant,
    ready: Instant,
) {
    // A HEADERS frame with END_STREAM answers one Headers and one EndStream event.
    let mut taken = vec![false; frames.len()];
    let mut ended = vec![false; frames.len()];
    for event in events.iter_mut() {
        let Some(wire) = event.wire() else { continue };
        let used = match wire {
            Wire::EndStream(_) => &mut ended,
            _ => &mut taken,
        };
        let found = frames
            .iter()
            .enumerate()
            .find(|(i, f)| !used[*i] && wire.matches(f));
        if let Some((i, frame)) = found {
            used[i] = true;
            let at = log_started + frame.at;
            let ms = match at.checked_duration_since(ready) {
                Some(after) => after.as_secs_f64() * 1000.0,
                None => -(ready - at).as_secs_f64() * 1000.0,
            };
            event.set_at_ms(ms);
        }
    }
    events.sort_by(|a, b| a.at_ms().total_cmp(&b.at_ms()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Debug)]
    struct Event(f64, Option<Wire>, &'static str);

    impl Timed for Event {
        fn wire(&self) -> Option<Wire> {
            self.1
        }
        fn set_at_ms(&mut self, at_ms: f64) {
            self.0 = at_ms;
        }
        fn at_ms(&self) -> f64 {
            self.0
        }
    }

    fn frame(kind: FrameKind, stream_id: u32, flags: u8, at_ms: u64) -> FrameHeader {
        FrameHeader {
            kind,
            flags,
            stream_id,
            len: 0,
            at: Duration::from_millis(at_ms),
        }
    }

    /// The case `--trace` got wrong: the promise task noted its PUSH_PROMISE before the page
    /// task noted the 103 that arrived first.
    #[test]
    fn events_take_their_frames_times_and_order() {
        let t0 = Instant::now();
        let frames = [
            frame(FrameKind::Settings, 0, 0, 1),
            frame(FrameKind::Headers, 1, 0, 10),     // 103
            frame(FrameKind::PushPromise, 1, 0, 11), // promise of 2
            frame(FrameKind::Headers, 1, 0, 12),     // 200
            frame(FrameKind::Headers, 2, FLAG_END_STREAM, 13),
            frame(FrameKind::Data, 1, FLAG_END_STREAM, 14),
        ];
        let mut events = vec![
            Event(0.0, None, "send"),
            Event(20.0, Some(Wire::PushPromise(1)), "promise"),
            Event(21.0, Some(Wire::Headers(1)), "103"),
            Event(22.0, Some(Wire::Headers(1)), "200"),
            Event(23.0, Some(Wire::Headers(2)), "pushed 200"),
            Event(24.0, Some(Wire::EndStream(2)), "pushed end"),
            Event(25.0, Some(Wire::EndStream(1)), "page end"),
            Event(30.0, None, "loaded"),
        ];
        wire_order(&mut events, &frames, t0, t0);
        let order: Vec<_> = events.iter().map(|e| e.2).collect();
        assert_eq!(
            order,
            [
                "send",
                "103",
                "promise",
                "200",
                "pushed 200",
                "pushed end",
                "page end",
                "loaded"
            ]
        );
        assert_eq!(events[1].0, 10.0);
        assert_eq!(events[5].0, 13.0);
    }

    #[test]
    fn events_without_their_frame_keep_their_time() {
        let t0 = Instant::now();
        let mut events = vec![
            Event(5.0, Some(Wire::Headers(3)), "b"),
            Event(1.0, None, "a"),
        ];
        wire_order(&mut events, &[], t0, t0);
        assert_eq!(events[0].2, "a");
        assert_eq!(events[1].0, 5.0);
    }
}
