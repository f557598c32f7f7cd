//! Fault injection: canned failures that fire before normal handling.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::util::ids::SplitMix64;

/// A fault as posted to `POST /_emulator/faults`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `cloudflare`, `netlify`, `vercel`, `amplify`, or null for any.
    #[serde(default)]
    pub platform: Option<String>,
    /// HTTP method, or null for any.
    #[serde(default)]
    pub method: Option<String>,
    /// Substring (so also prefix) of the request path; null or empty for any.
    #[serde(default)]
    pub path: Option<String>,
    /// Substring of the `Host` header, case-insensitive; null or empty for any. Narrows a
    /// fault to one served site (`blog.netlify.app`), so a test can take that site down, slow
    /// it or make it answer 404 while every other site and the APIs work.
    #[serde(default)]
    pub host: Option<String>,
    /// Status to answer; null with `latency_ms` only = delay then handle normally.
    #[serde(default)]
    pub status: Option<u16>,
    /// Response body.
    #[serde(default)]
    pub body: Option<String>,
    /// Response Content-Type (default: JSON if the body looks like JSON, else text).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Extra response headers, e.g. `{"Retry-After": "2"}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Drop the connection mid-response.
    #[serde(default)]
    pub reset: bool,
    /// Handle the request for real, then drop the connection instead of answering: the work
    /// is done (an app created) but the client never hears of it, as when a response is lost.
    #[serde(default)]
    pub lose_answer: bool,
    /// Delay before answering (or before normal handling).
    #[serde(default)]
    pub latency_ms: u64,
    /// Probability of firing for each matching request (deterministic per seed).
    #[serde(default = "one")]
    pub rate: f64,
    /// Maximum number of times it fires.
    #[serde(default)]
    pub count: Option<u64>,
    /// Active window from creation.
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug)]
struct Fault {
    id: u64,
    spec: FaultSpec,
    fired: u64,
    created: Instant,
    rng: SplitMix64,
}

/// What the router must do for a request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Sleep this long first.
    pub latency: Duration,
    /// Answer with this fault instead of handling (with its id).
    pub respond: Option<(u64, FaultSpec)>,
    /// Handle normally, then drop the answer (with the fault's id).
    pub lose_answer: Option<u64>,
}

/// The active faults.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<(u64, Vec<Fault>)>,
}

impl Faults {
    /// Adds a fault; returns its id.
    pub fn add(&self, spec: FaultSpec, seed: u64) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        let id = g.0;
        g.1.push(Fault {
            id,
            spec,
            fired: 0,
            created: Instant::now(),
            rng: SplitMix64::new(seed),
        });
        id
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clear();
    }

    /// Removes one fault.
    pub fn remove(&self, id: u64) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let before = g.1.len();
        g.1.retain(|f| f.id != id);
        g.1.len() != before
    }

    /// The faults with how often each fired.
    pub fn list(&self) -> serde_json::Value {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::Value::Array(
            g.1.iter()
                .map(|f| {
                    let mut v = serde_json::to_value(&f.spec).unwrap_or_default();
                    v["id"] = f.id.into();
                    v["fired"] = f.fired.into();
                    v
                })
                .collect(),
        )
    }

    /// Decides what happens to a request (`host` is its `Host` header).
    pub fn decide(&self, platform: Option<&str>, method: &str, path: &str, host: &str) -> Decision {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut d = Decision::default();
        let host = host.to_ascii_lowercase();
        for f in g.1.iter_mut() {
            let s = &f.spec;
            if s.platform.as_deref().is_some_and(|p| Some(p) != platform)
                || s.host
                    .as_deref()
                    .is_some_and(|h| !host.contains(&h.to_ascii_lowercase()))
                || s.method
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case(method))
                || s.path.as_deref().is_some_and(|p| !path.contains(p))
                || s.count.is_some_and(|c| f.fired >= c)
                || s.duration_ms
                    .is_some_and(|ms| f.created.elapsed() > Duration::from_millis(ms))
            {
                continue;
            }
            if s.rate < 1.0 && f.rng.next_f64() >= s.rate {
                continue;
            }
            let responds = s.status.is_some() || s.reset;
            if responds && d.respond.is_some() {
                continue;
            }
            if s.lose_answer {
                if d.lose_answer.is_some() {
                    continue;
                }
                d.lose_answer = Some(f.id);
            }
            f.fired += 1;
            d.latency += Duration::from_millis(s.latency_ms);
            if responds {
                d.respond = Some((f.id, s.clone()));
            }
        }
        d
    }
}

/// What a client sees of an answer that is lost on the way: the start of a body, then the
/// connection drops. Used for `lose_answer`, after the request was handled for real.
pub fn lost_answer(status: StatusCode) -> Response {
    let mut resp = cut_off("");
    *resp.status_mut() = status;
    resp
}

/// Promises more bytes than are sent, then fails the stream: hyper drops the connection.
fn cut_off(body: &str) -> Response {
    let full = if body.len() < 32 {
        format!("{body:<64}")
    } else {
        body.to_string()
    };
    let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
    let len = full.len();
    let stream = futures_util::stream::iter(vec![
        Ok::<Bytes, std::io::Error>(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault: connection reset",
        )),
    ]);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert("content-length", HeaderValue::from(len as u64));
    r
}

/// Builds the response of a fault.
pub fn response(spec: &FaultSpec) -> Response {
    let status = StatusCode::from_u16(spec.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = spec.body.clone().unwrap_or_default();
    let ct = spec.content_type.clone().unwrap_or_else(|| {
        if body.trim_start().starts_with(['{', '[']) {
            "application/json".into()
        } else {
            "text/plain; charset=utf-8".into()
        }
    });
    let mut resp = if spec.reset {
        cut_off(&body)
    } else {
        Response::new(Body::from(body))
    };
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&ct) {
        resp.headers_mut().insert("content-type", v);
    }
    for (k, v) in &spec.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).expect("valid spec")
    }

    #[test]
    fn count_limits_firing_and_filters_match() {
        let faults = Faults::default();
        faults.add(
            spec(
                r#"{"platform":"netlify","method":"PUT","path":"/files/","status":500,"count":2}"#,
            ),
            1,
        );
        assert!(faults
            .decide(Some("vercel"), "PUT", "/api/v1/deploys/x/files/a", "")
            .respond
            .is_none());
        assert!(faults
            .decide(Some("netlify"), "GET", "/api/v1/deploys/x/files/a", "")
            .respond
            .is_none());
        for _ in 0..2 {
            assert!(faults
                .decide(Some("netlify"), "put", "/api/v1/deploys/x/files/a", "")
                .respond
                .is_some());
        }
        assert!(faults
            .decide(Some("netlify"), "PUT", "/api/v1/deploys/x/files/a", "")
            .respond
            .is_none());
    }

    #[test]
    fn rate_is_deterministic_for_a_seed() {
        let run = || {
            let faults = Faults::default();
            faults.add(spec(r#"{"status":503,"rate":0.5}"#), 42);
            (0..64)
                .map(|_| faults.decide(None, "GET", "/", "").respond.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let fired = a.iter().filter(|x| **x).count();
        assert!((16..48).contains(&fired), "fired {fired} of 64");
    }

    #[test]
    fn host_narrows_a_fault_to_one_served_site() {
        let faults = Faults::default();
        faults.add(spec(r#"{"host":"Blog.netlify.app","status":503}"#), 1);
        let status = |host: &str| {
            faults
                .decide(Some("netlify"), "GET", "/", host)
                .respond
                .and_then(|(_, s)| s.status)
        };
        assert_eq!(status("blog.netlify.app:8080"), Some(503));
        assert_eq!(status("shop.netlify.app"), None);
        assert_eq!(status("127.0.0.1:8080"), None, "the API is not a site");
    }

    #[test]
    fn latency_only_fault_does_not_respond() {
        let faults = Faults::default();
        faults.add(spec(r#"{"latency_ms":30}"#), 1);
        let d = faults.decide(None, "GET", "/x", "");
        assert!(d.respond.is_none());
        assert_eq!(d.latency, Duration::from_millis(30));
    }
}
