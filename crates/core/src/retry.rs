//! One retry policy for every request Sitedrop sends (`DESIGN.md`, "HTTP and retries").
//!
//! - Transient failures (408, 429, 5xx, dropped connections, garbled answers) are retried with
//!   exponential backoff and "full jitter": the n-th wait is uniform in
//!   `[0, min(cap, base · 2ⁿ))` (Marc Brooker, "Exponential Backoff And Jitter", AWS
//!   Architecture Blog, 2015). Jitter spreads the retries of many parallel uploads apart so
//!   they do not hit a recovering server in lockstep.
//! - Retries go on for a time budget, [`RetryPolicy::max_elapsed`] after the first failure
//!   (a minute by default), not for a fixed number of attempts: an API that vanishes for half
//!   a minute (a platform incident, a laptop changing networks) is ridden out, and a platform
//!   that stays down is reported within about a minute. Since no wait exceeds
//!   [`RetryPolicy::cap`], an outage that ends is noticed within `cap`. [`RetryPolicy::max_attempts`]
//!   stays as a safety net against a loop of instant failures.
//! - When the server names a moment (`Retry-After`, `X-RateLimit-Reset`), we wait until then
//!   instead — unless that is further away than [`RetryPolicy::max_server_wait`], in which
//!   case we stop and tell the user when to come back.
//! - Permanent failures (400, 401, 403, 404, 422, bad input) are never retried.
//!
//! Randomness comes through [`Jitter`], so tests fix the seed and check exact sequences.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result, RetryHint};

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (a safety net: the time budget
    /// [`RetryPolicy::max_elapsed`] is what normally ends the retries).
    pub max_attempts: u32,
    /// The first backoff window.
    pub base: Duration,
    /// No backoff window grows beyond this.
    pub cap: Duration,
    /// The longest a server may ask us to wait before we give up and report it.
    pub max_server_wait: Duration,
    /// No retry starts once this much time has passed since the operation first failed.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 40,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            max_server_wait: Duration::from_secs(120),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

/// A source of uniform numbers in `[0, 1)`.
pub trait Jitter: Send {
    fn next_unit(&mut self) -> f64;
}

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014):
/// tiny, fast, and good enough to spread retries.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn seeded(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// Seeded from the clock and a per-process counter, so parallel tasks differ.
    pub fn from_entropy() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        SplitMix64(nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Jitter for SplitMix64 {
    fn next_unit(&mut self) -> f64 {
        // The top 53 bits make an exactly representable double in [0, 1).
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The state of one operation's retries.
pub struct Backoff<J: Jitter = SplitMix64> {
    policy: RetryPolicy,
    attempt: u32,
    jitter: J,
}

/// How long ago an operation first failed, on the monotonic clock (which tests can pause).
#[derive(Debug, Clone, Copy, Default)]
struct Elapsed(Option<tokio::time::Instant>);

impl Elapsed {
    /// Time since the first call.
    fn tick(&mut self) -> Duration {
        let now = tokio::time::Instant::now();
        now.duration_since(*self.0.get_or_insert(now))
    }
}

impl Backoff<SplitMix64> {
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff::with_jitter(policy, SplitMix64::from_entropy())
    }
}

impl<J: Jitter> Backoff<J> {
    pub fn with_jitter(policy: RetryPolicy, jitter: J) -> Self {
        Backoff {
            policy,
            attempt: 0,
            jitter,
        }
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// After a failed attempt: how long to wait before the next, or `None` to give up.
    /// `since_first_failure` is how long ago the operation first failed (see
    /// [`RetryPolicy::max_elapsed`]).
    pub fn next_delay(
        &mut self,
        hint: RetryHint,
        now: SystemTime,
        since_first_failure: Duration,
    ) -> Option<Duration> {
        self.attempt += 1;
        if hint == RetryHint::Never
            || self.attempt >= self.policy.max_attempts
            || since_first_failure >= self.policy.max_elapsed
        {
            return None;
        }
        match hint {
            RetryHint::Never => None,
            RetryHint::At(at) => {
                let wait = at.duration_since(now).unwrap_or(Duration::ZERO);
                (wait <= self.policy.max_server_wait).then_some(wait)
            }
            RetryHint::Backoff => {
                let exp = 2u32.saturating_pow(self.attempt - 1);
                let window = self.policy.base.saturating_mul(exp).min(self.policy.cap);
                Some(window.mul_f64(self.jitter.next_unit()))
            }
        }
    }
}

/// Runs `op` until it succeeds, fails permanently, runs out of attempts or is cancelled.
/// `op` receives the attempt number (0-based) and must build its request afresh each time
/// (bodies are streams and cannot be replayed).
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    mut op: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut backoff = Backoff::new(policy.clone());
    let mut elapsed = Elapsed::default();
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let attempt = backoff.attempts();
        let err = tokio::select! {
            result = op(attempt) => match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            },
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        };
        let since_first_failure = elapsed.tick();
        let Some(delay) =
            backoff.next_delay(err.retry_hint(), SystemTime::now(), since_first_failure)
        else {
            return Err(err);
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => return Err(Error::Cancelled),
        }
    }
}

/// The furthest ahead a server's "come back at" is believed (a day).
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(24 * 3600);

/// When the server says it will take requests again: `Retry-After` (delta-seconds or an
/// HTTP-date, RFC 9110 §10.2.3), else `X-RateLimit-Reset` (Netlify and Vercel send Unix
/// seconds; a small number is taken as seconds from now, as some APIs send).
pub fn retry_at(headers: &HeaderMap, now: SystemTime) -> Option<SystemTime> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // Whatever the server says, nothing is read as further away than this: a garbled header
    // must not overflow the clock (or make us wait a year).
    let clamp = |wait: Duration| now.checked_add(wait.min(MAX_SERVER_DELAY)).unwrap_or(now);
    if let Some(value) = text("retry-after") {
        if let Ok(secs) = value.parse::<u64>() {
            return Some(clamp(Duration::from_secs(secs)));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(clamp(at.duration_since(now).unwrap_or(Duration::ZERO)));
        }
    }
    let reset = text("x-ratelimit-reset")?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)?;
    let wait = if reset < 1_000_000_000.0 {
        Duration::try_from_secs_f64(reset).ok()?
    } else {
        let at = UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(reset).ok()?)?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(clamp(wait))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_sequence_is_exact_with_a_fixed_seed() {
        let mut b = Backoff::with_jitter(RetryPolicy::default(), SplitMix64::seeded(42));
        let now = UNIX_EPOCH;
        let delays: Vec<u128> = (0..7)
            .map(|_| {
                b.next_delay(RetryHint::Backoff, now, Duration::ZERO)
                    .unwrap()
                    .as_millis()
            })
            .collect();
        // Windows 250, 500, 1000, 2000, 4000, 8000, then the 10 s cap.
        assert_eq!(delays, [185, 79, 278, 688, 152, 6945, 2184]);
        assert_eq!(b.attempts(), 7);
    }

    #[test]
    fn retries_stop_once_the_time_budget_is_spent() {
        let policy = RetryPolicy::default();
        let mut b = Backoff::with_jitter(policy.clone(), SplitMix64::seeded(7));
        let almost = policy.max_elapsed - Duration::from_millis(1);
        assert!(b
            .next_delay(RetryHint::Backoff, UNIX_EPOCH, almost)
            .is_some());
        assert_eq!(
            b.next_delay(RetryHint::Backoff, UNIX_EPOCH, policy.max_elapsed),
            None
        );
        let mut b = Backoff::with_jitter(policy, SplitMix64::seeded(7));
        assert_eq!(
            b.next_delay(
                RetryHint::At(UNIX_EPOCH + Duration::from_secs(1)),
                UNIX_EPOCH,
                Duration::from_secs(61)
            ),
            None,
            "a server-named moment does not extend the budget"
        );
    }

    #[test]
    fn backoff_windows_grow_then_cap() {
        let policy = RetryPolicy {
            max_attempts: 20,
            cap: Duration::from_secs(5),
            ..Default::default()
        };
        // A jitter source that always answers "almost 1" shows the window itself.
        struct Top;
        impl Jitter for Top {
            fn next_unit(&mut self) -> f64 {
                0.999_999
            }
        }
        let mut b = Backoff::with_jitter(policy, Top);
        let windows: Vec<u64> = (0..8)
            .map(|_| {
                b.next_delay(RetryHint::Backoff, UNIX_EPOCH, Duration::ZERO)
                    .unwrap()
                    .as_millis()
                    .div_ceil(10) as u64
                    * 10
            })
            .collect();
        assert_eq!(windows, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn server_named_moment_is_honoured_unless_too_far() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut b = Backoff::with_jitter(RetryPolicy::default(), SplitMix64::seeded(1));
        assert_eq!(
            b.next_delay(
                RetryHint::At(now + Duration::from_secs(3)),
                now,
                Duration::ZERO
            ),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            b.next_delay(
                RetryHint::At(now - Duration::from_secs(3)),
                now,
                Duration::ZERO
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(
            b.next_delay(
                RetryHint::At(now + Duration::from_secs(3600)),
                now,
                Duration::ZERO
            ),
            None
        );
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        let mut b = Backoff::new(RetryPolicy::default());
        assert_eq!(
            b.next_delay(RetryHint::Never, SystemTime::now(), Duration::ZERO),
            None
        );
    }

    #[test]
    fn retry_after_and_ratelimit_reset_are_read() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_at(&h, now), Some(now + Duration::from_secs(7)));

        h.insert(
            "retry-after",
            HeaderValue::from_str(&httpdate::fmt_http_date(now + Duration::from_secs(60))).unwrap(),
        );
        assert_eq!(retry_at(&h, now), Some(now + Duration::from_secs(60)));

        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1800000030"));
        assert_eq!(retry_at(&h, now), Some(now + Duration::from_secs(30)));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("12"));
        assert_eq!(retry_at(&h, now), Some(now + Duration::from_secs(12)));
        assert_eq!(retry_at(&HeaderMap::new(), now), None);
    }

    #[test]
    fn absurd_header_values_neither_panic_nor_wait_forever() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for (name, value) in [
            ("retry-after", "18446744073709551615"),
            ("x-ratelimit-reset", "1e300"),
            ("x-ratelimit-reset", "999999999999999999999"),
            ("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            // Either no usable time (plain backoff then) or one at most a day away.
            if let Some(at) = retry_at(&h, now) {
                assert!(at <= now + MAX_SERVER_DELAY, "{name}: {value}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_runs_until_success_and_reports_permanent_errors_at_once() {
        let calls = AtomicU32::new(0);
        let value = retry(
            &RetryPolicy::default(),
            &CancellationToken::new(),
            |attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < 2 {
                        Err(Error::Server {
                            platform: crate::Platform::Netlify,
                            detail: "HTTP 503".into(),
                        })
                    } else {
                        Ok(attempt)
                    }
                }
            },
        )
        .await
        .unwrap();
        assert_eq!((value, calls.load(Ordering::SeqCst)), (2, 3));

        let calls = AtomicU32::new(0);
        let err = retry(&RetryPolicy::default(), &CancellationToken::new(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err::<(), _>(Error::TokenInvalid {
                    platform: crate::Platform::Netlify,
                    detail: "401".into(),
                })
            }
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.kind().as_str(), calls.load(Ordering::SeqCst)),
            ("token_invalid", 1)
        );
    }

    /// The platform answers nothing but dropped connections for `outage`, then works.
    async fn through_an_outage(policy: &RetryPolicy, outage: Duration) -> (Result<u32>, Duration) {
        let started = tokio::time::Instant::now();
        let result = retry(policy, &CancellationToken::new(), |attempt| async move {
            if started.elapsed() < outage {
                Err(Error::Network {
                    platform: crate::Platform::Netlify,
                    detail: "the connection was dropped".into(),
                })
            } else {
                Ok(attempt)
            }
        })
        .await;
        (result, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_that_vanishes_for_thirty_seconds_is_ridden_out() {
        let policy = RetryPolicy::default();
        let (result, took) = through_an_outage(&policy, Duration::from_secs(30)).await;
        let attempts = result.expect("the outage is shorter than the budget");
        assert!(attempts > 5, "retried {attempts} times");
        assert!(
            took < Duration::from_secs(30) + policy.cap,
            "noticed within one capped wait of the recovery: {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_that_stays_down_is_reported_after_about_a_minute() {
        let policy = RetryPolicy::default();
        let (result, took) = through_an_outage(&policy, Duration::from_secs(3600)).await;
        assert_eq!(result.unwrap_err().kind(), "network");
        assert!(
            took >= policy.max_elapsed && took <= policy.max_elapsed + policy.cap,
            "gave up after {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_the_last_attempt() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy {
            max_attempts: 6,
            ..Default::default()
        };
        let err = retry(&policy, &CancellationToken::new(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err::<(), _>(Error::Network {
                    platform: crate::Platform::Vercel,
                    detail: "reset".into(),
                })
            }
        })
        .await
        .unwrap_err();
        assert_eq!(
            (err.kind().as_str(), calls.load(Ordering::SeqCst)),
            ("network", 6)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_interrupts_the_wait() {
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let err = retry(&RetryPolicy::default(), &cancel, move |_| {
            c2.cancel();
            async {
                Err::<(), _>(Error::Network {
                    platform: crate::Platform::Vercel,
                    detail: "x".into(),
                })
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "cancelled");
    }
}
