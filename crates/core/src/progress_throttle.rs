//! A progress sink that passes every milestone but at most a few counter updates a second.
//!
//! Hashing and uploading report once per file; a 20,000-file site would send 40,000 messages
//! to a face that can usefully draw ten a second. Milestones (a new phase, the scan result,
//! warnings, processing states) and the last update of a counter always pass, so what the face
//! shows last is exact.

use std::time::Duration;

use crate::progress::{Progress, ProgressSink, Throttle};

/// Wraps `sink` so counter events (`scanning`, `hashing`, `uploading`) pass at most once per
/// `every`, except the one that completes a counter.
pub fn throttled(sink: ProgressSink, every: Duration) -> ProgressSink {
    let throttle = Throttle::new(every);
    std::sync::Arc::new(move |event: Progress| {
        let pass = match &event {
            Progress::Scanning { .. } => throttle.ready(),
            Progress::Hashing {
                files_done,
                files_total,
                ..
            }
            | Progress::Uploading {
                files_done,
                files_total,
                ..
            } => files_done >= files_total || throttle.ready(),
            _ => true,
        };
        if pass {
            sink(event);
        }
    })
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
}
