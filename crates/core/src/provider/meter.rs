//! Upload progress, counted as bytes leave, and undone for attempts that fail.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::progress::{Progress, ProgressSink, Throttle};

/// Counts what the platform has received across all parallel batches.
pub struct UploadMeter {
    /// Tokio's clock, so tests with a paused clock can exercise the stall watchdog.
    started: tokio::time::Instant,
    files_total: u64,
    bytes_total: u64,
    files_done: AtomicU64,
    bytes_done: AtomicU64,
    current: Mutex<Option<String>>,
    sink: ProgressSink,
    throttle: Throttle,
}

impl UploadMeter {
    pub fn new(files_total: u64, bytes_total: u64, sink: ProgressSink) -> Arc<UploadMeter> {
        Arc::new(UploadMeter {
            started: tokio::time::Instant::now(),
            files_total,
            bytes_total,
            files_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            current: Mutex::new(None),
            sink,
            throttle: Throttle::new(Duration::from_millis(50)),
        })
    }

    /// Starts counting one attempt at one batch.
    pub fn attempt(self: &Arc<Self>) -> Attempt {
        let now = self.started.elapsed().as_millis() as u64;
        Attempt(Arc::new(AttemptInner {
            meter: self.clone(),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_activity_ms: AtomicU64::new(now),
        }))
    }

    /// Files and bytes received so far.
    pub fn done(&self) -> (u64, u64) {
        (
            self.files_done.load(Ordering::Relaxed),
            self.bytes_done.load(Ordering::Relaxed),
        )
    }

    /// Sends a progress event now (the engine calls this at the start and the end).
    pub fn report(&self) {
        let (files_done, bytes_done) = self.done();
        let current = self.current.lock().map(|c| c.clone()).unwrap_or(None);
        (self.sink)(Progress::Uploading {
            files_done,
            files_total: self.files_total,
            bytes_done: bytes_done.min(self.bytes_total),
            bytes_total: self.bytes_total,
            current,
        });
    }

    fn maybe_report(&self) {
        if self.throttle.ready() {
            self.report();
        }
    }
}

/// One try at one batch. Clone it into request bodies; call [`Attempt::abandon`] when the
/// try fails, so the retry does not count the same bytes twice.
#[derive(Clone)]
pub struct Attempt(Arc<AttemptInner>);

struct AttemptInner {
    meter: Arc<UploadMeter>,
    files: AtomicU64,
    bytes: AtomicU64,
    /// When this attempt last moved a byte or finished a file (ms since the meter started).
    last_activity_ms: AtomicU64,
}

impl Attempt {
    fn touch(&self) {
        let now = self.0.meter.started.elapsed().as_millis() as u64;
        self.0.last_activity_ms.store(now, Ordering::Relaxed);
    }

    /// How long since this attempt last made progress.
    pub fn idle_for(&self) -> std::time::Duration {
        let now = self.0.meter.started.elapsed().as_millis() as u64;
        let last = self.0.last_activity_ms.load(Ordering::Relaxed);
        std::time::Duration::from_millis(now.saturating_sub(last))
    }

    /// Bytes of this batch have left.
    pub fn add_bytes(&self, n: u64) {
        self.touch();
        self.0.bytes.fetch_add(n, Ordering::Relaxed);
        self.0.meter.bytes_done.fetch_add(n, Ordering::Relaxed);
        self.0.meter.maybe_report();
    }

    /// Names the file being sent, for the "current file" line.
    pub fn file_started(&self, path: &str) {
        if let Ok(mut current) = self.0.meter.current.lock() {
            *current = Some(path.to_string());
        }
    }

    /// Files of this batch the platform has accepted.
    pub fn files_done(&self, n: u64) {
        self.touch();
        self.0.files.fetch_add(n, Ordering::Relaxed);
        self.0.meter.files_done.fetch_add(n, Ordering::Relaxed);
        self.0.meter.maybe_report();
    }

    /// Takes back what this attempt counted.
    pub fn abandon(&self) {
        let bytes = self.0.bytes.swap(0, Ordering::Relaxed);
        let files = self.0.files.swap(0, Ordering::Relaxed);
        self.0.meter.bytes_done.fetch_sub(bytes, Ordering::Relaxed);
        self.0.meter.files_done.fetch_sub(files, Ordering::Relaxed);
    }

    /// A request body with the file at `path` (`shown` to the person), which must still be
    /// `size` bytes long, counting bytes as the connection takes them. Small files are read
    /// whole, larger ones streamed in chunks, so no large file is ever held whole in memory
    /// (see [`super::body`]).
    pub async fn file_body(
        &self,
        shown: &str,
        path: &Path,
        size: u64,
    ) -> crate::error::Result<reqwest::Body> {
        use super::body::BodyError;
        let attempt = self.clone();
        super::body::file_body(path, size, move |n| attempt.add_bytes(n))
            .await
            .map_err(|e| match e {
                BodyError::Unreadable(e) => crate::error::Error::Unreadable {
                    path: shown.to_string(),
                    reason: e.to_string(),
                },
                BodyError::Changed => crate::error::Error::FileChanged {
                    path: shown.to_string(),
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_attempt_gives_its_bytes_back() {
        let meter = UploadMeter::new(2, 100, crate::progress::no_progress());
        let failed = meter.attempt();
        failed.add_bytes(60);
        failed.files_done(1);
        failed.abandon();
        let ok = meter.attempt();
        ok.add_bytes(100);
        ok.files_done(2);
        assert_eq!(meter.done(), (2, 100));
    }
}
