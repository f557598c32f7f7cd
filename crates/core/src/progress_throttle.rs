//! A progress sink that passes every milestone but at most a few counter updates a second.
//!
//! Hashing and uploading report once per file; a 20,000-file site would send 40,000 messages
//! to a face that can usefully draw ten a second. Milestones (a new phase, the scan result,
//! warnings, processing states) and the last update of a counter always pass, so what the face
//! shows last is exact.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::progress::{Progress, ProgressSink, Throttle};

/// Wraps `sink` so counter events (`scanning`, `hashing`, `uploading`) pass at most once per
/// `every`, except the ones that start and complete a counter. Each counter has its own clock,
/// so a burst of hashing updates cannot swallow the first upload update (the face would show
/// no counts until the first file finished).
pub fn throttled(sink: ProgressSink, every: Duration) -> ProgressSink {
    let (scanning, hashing, uploading) = (
        Counter::new(every),
        Counter::new(every),
        Counter::new(every),
    );
    std::sync::Arc::new(move |event: Progress| {
        let pass = match &event {
            Progress::Scanning { .. } => scanning.pass(false),
            Progress::Hashing {
                files_done,
                files_total,
                ..
            } => hashing.pass(files_done >= files_total),
            Progress::Uploading {
                files_done,
                files_total,
                ..
            } => uploading.pass(files_done >= files_total),
            _ => true,
        };
        if pass {
            sink(event);
        }
    })
}

/// One counter's clock: its first update and its last always pass, the rest when due.
struct Counter {
    started: AtomicBool,
    throttle: Throttle,
}

impl Counter {
    fn new(every: Duration) -> Counter {
        Counter {
            started: AtomicBool::new(false),
            throttle: Throttle::new(every),
        }
    }

    fn pass(&self, complete: bool) -> bool {
        // The first update also starts the clock, so the next one waits its turn.
        let due = self.throttle.ready();
        let first = !self.started.swap(true, Ordering::Relaxed);
        first || complete || due
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::progress::Phase;

    fn uploading(done: u64, total: u64) -> Progress {
        Progress::Uploading {
            files_done: done,
            files_total: total,
            bytes_done: done,
            bytes_total: total,
            current: None,
        }
    }

    #[test]
    fn a_burst_of_counters_is_thinned_but_milestones_and_the_last_update_pass() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let sink = throttled(
            Arc::new(move |e| record.lock().unwrap().push(e)),
            Duration::from_secs(3600),
        );
        sink(Progress::Phase {
            phase: Phase::Upload,
            label: Phase::Upload.label(),
        });
        for done in 0..=1000 {
            sink(uploading(done, 1000));
        }
        sink(Progress::Warning {
            message: "w".into(),
        });
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            vec![
                Progress::Phase {
                    phase: Phase::Upload,
                    label: Phase::Upload.label()
                },
                uploading(0, 1000),
                uploading(1000, 1000),
                Progress::Warning {
                    message: "w".into()
                },
            ]
        );
    }

    #[test]
    fn hashing_updates_do_not_hold_back_the_first_upload_update() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let sink = throttled(
            Arc::new(move |e| record.lock().unwrap().push(e)),
            Duration::from_secs(3600),
        );
        for done in 0..=2 {
            sink(Progress::Hashing {
                files_done: done,
                files_total: 3,
                bytes_done: done,
                bytes_total: 3,
            });
        }
        sink(uploading(0, 3));
        sink(uploading(1, 3));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.last(), Some(&uploading(0, 3)), "{seen:?}");
    }
}
