//! Progress events: what every long step reports to the face that started it.

use std::sync::Arc;

use serde::Serialize;

/// The steps of a deploy, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Scan,
    Limits,
    Hash,
    Prepare,
    Upload,
    Finish,
    Poll,
    Verify,
    Done,
}

impl Phase {
    /// Every phase, in the order a deploy goes through them.
    pub const ALL: [Phase; 9] = [
        Phase::Scan,
        Phase::Limits,
        Phase::Hash,
        Phase::Prepare,
        Phase::Upload,
        Phase::Finish,
        Phase::Poll,
        Phase::Verify,
        Phase::Done,
    ];

    /// The phase as the history stores it and faces receive it.
    pub fn id(self) -> &'static str {
        match self {
            Phase::Scan => "scan",
            Phase::Limits => "limits",
            Phase::Hash => "hash",
            Phase::Prepare => "prepare",
            Phase::Upload => "upload",
            Phase::Finish => "finish",
            Phase::Poll => "poll",
            Phase::Verify => "verify",
            Phase::Done => "done",
        }
    }

    /// What a person sees while the phase runs.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Scan => "Looking at your files",
            Phase::Limits => "Checking the platform's limits",
            Phase::Hash => "Fingerprinting files",
            Phase::Prepare => "Asking which files are new",
            Phase::Upload => "Uploading",
            Phase::Finish => "Publishing",
            Phase::Poll => "Waiting for the platform",
            Phase::Verify => "Checking the live site",
            Phase::Done => "Done",
        }
    }
}

/// One progress event. Serialised as `{"event":"…", …}` for the CLI's `--json` and the app.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A new phase began.
    Phase { phase: Phase, label: &'static str },
    /// Files found so far while scanning.
    Scanning { files: u64, bytes: u64 },
    /// The scan's result, before anything is read.
    Scanned {
        files: u64,
        bytes: u64,
        ignored: u64,
        held_back: u64,
    },
    /// Hashing: files and bytes done out of the total that needs reading.
    Hashing {
        files_done: u64,
        files_total: u64,
        bytes_done: u64,
        bytes_total: u64,
    },
    /// Uploading: counts cover only what the platform asked for.
    Uploading {
        files_done: u64,
        files_total: u64,
        bytes_done: u64,
        bytes_total: u64,
        current: Option<String>,
    },
    /// The platform is processing the deployment; `detail` is its own word for the state.
    Processing { detail: String },
    /// Something the person should know that does not stop the deploy.
    Warning { message: String },
}

/// Where progress goes. Called from worker threads, so it must be cheap and thread-safe; faces
/// throttle rendering themselves.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// A sink that drops everything (tests, background work nobody watches).
pub fn no_progress() -> ProgressSink {
    Arc::new(|_| {})
}

/// Lets at most one event through per interval, from any number of threads, so a sink is not
/// flooded by 20,000 per-file updates.
pub struct Throttle {
    start: std::time::Instant,
    every_ms: u64,
    next_ms: std::sync::atomic::AtomicU64,
}

impl Throttle {
    pub fn new(every: std::time::Duration) -> Throttle {
        Throttle {
            start: std::time::Instant::now(),
            every_ms: every.as_millis() as u64,
            next_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// True when the caller should emit now.
    pub fn ready(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = self.start.elapsed().as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + self.every_ms,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}
