//! `GET {feed}poll?after=ID`: the long-polling fallback. Changes after `ID` are answered at
//! once as JSON; with none, the request is held until one arrives or the poll timeout passes
//! (then an empty list). The answer's `last_id` is the `after` of the next poll.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use super::no_store;
use crate::config::FeedConfig;
use crate::reply::{Body, Reply};
use crate::watch::{Change, ChangeFeed};

/// The JSON body of every answer.
#[derive(Debug, Serialize)]
struct Answer {
    #[serde(serialize_with = "changes")]
    events: Vec<Arc<Change>>,
    /// The id to pass as `after` next time.
    last_id: u64,
    /// The changes after `after` are no longer all known: assume everything changed.
    reset: bool,
}

impl Answer {
    fn events(after: u64, events: Vec<Arc<Change>>) -> Self {
        Answer {
            last_id: events.last().map_or(after, |c| c.id),
            events,
            reset: false,
        }
    }

    fn reset(last_id: u64) -> Self {
        Answer {
            events: Vec::new(),
            last_id,
            reset: true,
        }
    }
}

/// The answer to one poll: at once when there is news, else after the first change or the
/// poll timeout.
pub(super) async fn answer(
    feed: &ChangeFeed,
    config: &FeedConfig,
    query: Option<&str>,
    head_only: bool,
) -> Reply {
    let after = match parse_after(query) {
        Ok(after) => after,
        Err(message) => return no_store(Reply::text(StatusCode::BAD_REQUEST, message)),
    };
    let mut subscription = feed.subscribe_since(after);
    let answer = match subscription.backlog {
        Err(reset) => Answer::reset(reset.last_id),
        Ok(events) if !events.is_empty() || head_only => Answer::events(after, events),
        Ok(_) => {
            let receiver = &mut subscription.receiver;
            tokio::select! {
                first = receiver.recv() => match first {
                    Ok(first) => {
                        // One burst of changes is published together: take all of it.
                        let mut events = vec![first];
                        events.extend(std::iter::from_fn(|| receiver.try_recv().ok()));
                        Answer::events(after, events)
                    }
                    Err(RecvError::Lagged(_)) => Answer::reset(feed.last_id()),
                    Err(RecvError::Closed) => Answer::events(after, Vec::new()),
                },
                _ = tokio::time::sleep(config.poll_timeout) => Answer::events(after, Vec::new()),
            }
        }
    };
    let body = serde_json::to_vec(&answer).expect("an answer serializes");
    let mut head = Response::new(());
    let headers = head.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    no_store(Reply::new(head, Body::Bytes(Bytes::from(body))))
}

fn changes<S: serde::Serializer>(events: &[Arc<Change>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(events.iter().map(|c| &**c))
}

/// The `after` query parameter: the id of the last change the client has seen (0 for none).
fn parse_after(query: Option<&str>) -> Result<u64, &'static str> {
    const HOW: &str =
        "bad request: give the id of the last change seen as ?after=ID (a whole number, 0 for none)\n";
    let value = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("after="))
        .ok_or(HOW)?;
    match value.parse::<u64>() {
        Ok(after) if value.bytes().all(|b| b.is_ascii_digit()) => Ok(after),
        _ => Err(HOW),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_is_a_whole_number() {
        assert_eq!(parse_after(Some("after=0")), Ok(0));
        assert_eq!(parse_after(Some("x=1&after=42")), Ok(42));
        for bad in [
            None,
            Some(""),
            Some("after="),
            Some("after=-1"),
            Some("after=+1"),
            Some("after=1.5"),
            Some("after=abc"),
            Some("after=99999999999999999999"),
        ] {
            assert!(parse_after(bad).is_err(), "{bad:?}");
        }
    }
}
