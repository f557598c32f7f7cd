//! The request log behind `GET /_emulator/requests`.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// One logged request.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Monotonic sequence number (starts at 1).
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Raw path.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Response status.
    pub status: u16,
    /// Platform the request was for, if any.
    pub platform: Option<&'static str>,
    /// `true` when it was a request to a deployed site (by Host), not to an API.
    pub site: bool,
    /// Host header.
    pub host: String,
    /// Request body bytes received.
    pub body_size: u64,
    /// Id of the fault that answered it, if any.
    pub fault: Option<u64>,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: &'static str,
    /// Whether it came over TLS.
    pub tls: bool,
    /// The connection it came on (numbered from 1 in the order accepted; 0 if unknown).
    pub conn: u64,
}

const CAP: usize = 200_000;

/// A bounded in-memory log.
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<(u64, VecDeque<LogEntry>)>,
}

impl RequestLog {
    /// Appends an entry, assigning its sequence number.
    pub fn push(&self, mut e: LogEntry) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        e.seq = g.0;
        if g.1.len() >= CAP {
            g.1.pop_front();
        }
        g.1.push_back(e);
    }

    /// Entries with `seq > since`.
    pub fn since(&self, since: u64) -> Vec<LogEntry> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.1.iter().filter(|e| e.seq > since).cloned().collect()
    }

    /// Empties the log (sequence numbers keep growing).
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clear();
    }
}
