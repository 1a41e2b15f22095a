//! Blocking-pool coordination for work many requests may ask for at once: [`SingleFlight`]
//! runs one computation per key while the other askers wait for its result, and [`Slots`]
//! bounds how many computations run at all. Every wait has a deadline, so a thread of the
//! blocking pool is never held for longer than the caller chose.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One computation per key at a time.
#[derive(Debug)]
pub struct SingleFlight<K, V> {
    flights: Mutex<HashMap<K, Arc<Flight<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

#[derive(Debug)]
struct Flight<V> {
    /// `Some` once the leader finished: its value, or `None` if it gave up.
    outcome: Mutex<Option<Option<V>>>,
    done: Condvar,
}

/// What [`SingleFlight::join`] made of the caller.
#[derive(Debug)]
pub enum Joined<'f, K: Eq + Hash + Clone, V: Clone> {
    /// Nobody was computing this key: the caller computes it and hands the result to
    /// [`Leader::finish`].
    Leader(Leader<'f, K, V>),
    /// Another caller computed it: its value, or `None` if it gave up or did not finish
    /// within the wait.
    Follower(Option<V>),
}

/// The one caller computing a key. Dropping it unfinished (a panic) releases the followers
/// with `None`.
#[derive(Debug)]
pub struct Leader<'f, K: Eq + Hash + Clone, V: Clone> {
    group: &'f SingleFlight<K, V>,
    key: K,
    flight: Arc<Flight<V>>,
    finished: bool,
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlight<K, V> {
    /// Becomes the leader for `key`, or waits at most `wait` for the current leader's value.
    pub fn join(&self, key: K, wait: Duration) -> Joined<'_, K, V> {
        let flight = {
            let mut flights = self.flights.lock().expect("flights poisoned");
            match flights.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let flight = Arc::new(Flight {
                        outcome: Mutex::new(None),
                        done: Condvar::new(),
                    });
                    flights.insert(key.clone(), flight.clone());
                    return Joined::Leader(Leader {
                        group: self,
                        key,
                        flight,
                        finished: false,
                    });
                }
            }
        };
        let outcome = flight.outcome.lock().expect("flight poisoned");
        let (outcome, _) = flight
            .done
            .wait_timeout_while(outcome, wait, |o| o.is_none())
            .expect("flight poisoned");
        Joined::Follower(outcome.clone().flatten())
    }

    /// Keys being computed now.
    pub fn in_flight(&self) -> usize {
        self.flights.lock().expect("flights poisoned").len()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Leader<'_, K, V> {
    /// Hands `value` (`None`: gave up) to the waiting followers and ends the flight: the next
    /// `join` of the key leads a new one.
    pub fn finish(mut self, value: Option<V>) {
        self.end(value);
    }

    fn end(&mut self, value: Option<V>) {
        self.finished = true;
        self.group
            .flights
            .lock()
            .expect("flights poisoned")
            .remove(&self.key);
        *self.flight.outcome.lock().expect("flight poisoned") = Some(value);
        self.flight.done.notify_all();
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Drop for Leader<'_, K, V> {
    fn drop(&mut self) {
        if !self.finished {
            self.end(None);
        }
    }
}

/// A counting semaphore for blocking threads, with a deadline on every wait.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

/// A slot taken from [`Slots`]; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot<'s>(&'s Slots);

impl Slots {
    pub fn new(max: usize) -> Self {
        Slots {
            max,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// A slot, waiting at most until `deadline` for one to be free.
    pub fn acquire(&self, deadline: Instant) -> Option<Slot<'_>> {
        let used = self.used.lock().expect("slots poisoned");
        let wait = deadline.saturating_duration_since(Instant::now());
        let (mut used, _) = self
            .freed
            .wait_timeout_while(used, wait, |used| *used >= self.max)
            .expect("slots poisoned");
        if *used >= self.max {
            return None;
        }
        *used += 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.used.lock().expect("slots poisoned") -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holders of a flight: the map, the leader, and each follower between joining and
    /// getting the outcome.
    fn holders<K: Eq + Hash, V>(group: &SingleFlight<K, V>, key: &K) -> usize {
        Arc::strong_count(&group.flights.lock().unwrap()[key])
    }

    #[test]
    fn one_leader_computes_and_followers_get_its_value() {
        let group = SingleFlight::<&str, u32>::default();
        let Joined::Leader(leader) = group.join("page", Duration::ZERO) else {
            panic!("first caller leads");
        };
        let values: Vec<Option<u32>> = std::thread::scope(|s| {
            let followers: Vec<_> = (0..7)
                .map(|_| s.spawn(|| group.join("page", Duration::from_secs(30))))
                .collect();
            while holders(&group, &"page") < 2 + 7 {
                std::thread::yield_now();
            }
            leader.finish(Some(7));
            followers
                .into_iter()
                .map(|f| match f.join().unwrap() {
                    Joined::Follower(value) => value,
                    Joined::Leader(_) => panic!("a second leader"),
                })
                .collect()
        });
        assert_eq!(values, [Some(7); 7]);
        assert_eq!(group.in_flight(), 0, "finished flights are forgotten");
    }

    #[test]
    fn followers_stop_waiting_at_the_deadline_and_a_dropped_leader_releases_them() {
        let group = SingleFlight::<u8, u8>::default();
        let Joined::Leader(leader) = group.join(1, Duration::ZERO) else {
            panic!("first caller leads");
        };
        let started = Instant::now();
        assert!(matches!(
            group.join(1, Duration::from_millis(50)),
            Joined::Follower(None)
        ));
        assert!(started.elapsed() >= Duration::from_millis(50));
        std::thread::scope(|s| {
            let follower = s.spawn(|| group.join(1, Duration::from_secs(30)));
            while holders(&group, &1) < 3 {
                std::thread::yield_now();
            }
            drop(leader);
            assert!(matches!(follower.join().unwrap(), Joined::Follower(None)));
        });
        assert!(matches!(group.join(1, Duration::ZERO), Joined::Leader(_)));
    }

    #[test]
    fn slots_bound_holders_and_free_on_drop() {
        let slots = Slots::new(2);
        let soon = || Instant::now() + Duration::from_millis(20);
        let a = slots.acquire(soon()).expect("first");
        let _b = slots.acquire(soon()).expect("second");
        assert!(
            slots.acquire(soon()).is_none(),
            "a third waits, then gives up"
        );
        drop(a);
        assert!(
            slots.acquire(soon()).is_some(),
            "a freed slot is taken again"
        );
    }
}
