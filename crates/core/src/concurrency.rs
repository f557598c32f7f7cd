//! How many uploads run at once: a limit that adapts to the server, within the platform's cap.
//!
//! The controller is AIMD — additive increase, multiplicative decrease — the rule TCP
//! congestion control is built on (V. Jacobson, "Congestion Avoidance and Control", SIGCOMM
//! 1988; D. Chiu and R. Jain, 1989, for why it converges), with a delay signal in the spirit
//! of TCP Vegas (L. Brakmo and L. Peterson, 1995):
//!
//! - **Grow while fast.** Every upload that comes back no slower than [`AimdConfig::grow_below`]
//!   times the quickest seen adds `1 / limit`, so the limit grows by about one per round of
//!   uploads, up to the platform's cap.
//! - **Back off on latency.** When uploads come back more than [`AimdConfig::shrink_above`]
//!   times slower than the quickest seen, the server is queueing them: the limit is multiplied
//!   by [`AimdConfig::latency_backoff`]. In between, it holds.
//! - **Back off hard on refusals.** A 429, a 5xx or a broken connection multiplies the limit by
//!   [`AimdConfig::overload_backoff`] (the retry policy waits and repeats the request itself).
//! - Decreases happen at most once per round: after one, the uploads that were already in
//!   flight come back without decreasing it again, as TCP reacts once per window.
//!
//! Latency is compared per unit of work — the time of an upload divided by `1 + bytes / 1 MiB`
//! — so that a large file taking longer than a small one is not mistaken for a slow server.
//! Everything is deterministic: the controller only sees the samples it is given.

use std::time::Duration;

use crate::error::Error;

/// An upload's size counts as this many "units" of work per MiB beyond the first.
const UNIT_BYTES: f64 = 1024.0 * 1024.0;

/// Where the limit starts and how high it may go (the platform's documented cap, or the
/// official client's own concurrency where the platform documents none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    pub start: usize,
    pub max: usize,
}

impl Concurrency {
    /// Starts at `start`, grows to `max` while the server keeps up.
    pub const fn adaptive(start: usize, max: usize) -> Concurrency {
        Concurrency { start, max }
    }

    /// Never more than `n`, and `n` from the start.
    pub const fn fixed(n: usize) -> Concurrency {
        Concurrency { start: n, max: n }
    }
}

/// The controller's settings.
#[derive(Debug, Clone)]
pub struct AimdConfig {
    pub limits: Concurrency,
    /// Grow while the recent cost per unit is below this multiple of the lowest seen.
    pub grow_below: f64,
    /// Back off when it is above this multiple.
    pub shrink_above: f64,
    pub latency_backoff: f64,
    pub overload_backoff: f64,
    /// Weight of a new sample in the recent average (an exponentially weighted moving average).
    pub smoothing: f64,
}

impl AimdConfig {
    pub fn new(limits: Concurrency) -> AimdConfig {
        AimdConfig {
            limits,
            grow_below: 1.5,
            shrink_above: 2.0,
            latency_backoff: 0.75,
            overload_backoff: 0.5,
            smoothing: 0.2,
        }
    }
}

/// What one upload attempt told us about the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    /// It went through, carrying `bytes`, in `latency`.
    Done { latency: Duration, bytes: u64 },
    /// The server refused or dropped it for load: 429, 5xx, a timeout, a broken connection.
    Overloaded,
    /// It failed for a reason that says nothing about load (a changed file, a 4xx).
    Other,
}

impl Sample {
    /// The sample an error gives.
    pub fn of_error(err: &Error) -> Sample {
        match err {
            Error::RateLimited { .. } | Error::Server { .. } | Error::Network { .. } => {
                Sample::Overloaded
            }
            _ => Sample::Other,
        }
    }
}

/// The controller.
#[derive(Debug, Clone)]
pub struct Aimd {
    config: AimdConfig,
    limit: f64,
    /// Recent and lowest cost per unit of work, in seconds.
    recent: Option<f64>,
    base: Option<f64>,
    /// Samples seen, and the sample count before which no further decrease happens.
    seen: u64,
    calm_until: u64,
}

impl Aimd {
    pub fn new(config: AimdConfig) -> Aimd {
        let max = config.limits.max.max(1);
        let start = config.limits.start.clamp(1, max);
        Aimd {
            config,
            limit: start as f64,
            recent: None,
            base: None,
            seen: 0,
            calm_until: 0,
        }
    }

    /// Uploads that may run now.
    pub fn limit(&self) -> usize {
        (self.limit.floor() as usize).clamp(1, self.config.limits.max.max(1))
    }

    /// Takes one upload's outcome into account.
    pub fn record(&mut self, sample: Sample) {
        self.seen += 1;
        match sample {
            Sample::Done { latency, bytes } => {
                let cost = latency.as_secs_f64() / (1.0 + bytes as f64 / UNIT_BYTES);
                let recent = match self.recent {
                    Some(r) => r + self.config.smoothing * (cost - r),
                    None => cost,
                };
                self.recent = Some(recent);
                // The quickest seen is the server without our queue. With one upload at a
                // time there is no queue of ours, so what we see then is the server as it is
                // now (one that became slower for good is taken as it is).
                let base = match self.base {
                    Some(b) if b <= recent && self.limit() > 1 => b,
                    _ => recent,
                };
                self.base = Some(base);
                let ratio = if base > 0.0 { recent / base } else { 1.0 };
                if ratio > self.config.shrink_above {
                    self.decrease(self.config.latency_backoff);
                } else if ratio < self.config.grow_below {
                    self.limit = (self.limit + 1.0 / self.limit).min(self.config.limits.max as f64);
                }
            }
            Sample::Overloaded => self.decrease(self.config.overload_backoff),
            Sample::Other => {}
        }
    }

    fn decrease(&mut self, factor: f64) {
        if self.seen < self.calm_until {
            return;
        }
        // The uploads in flight now were sent under the old limit: let them come back first.
        self.calm_until = self.seen + self.limit.ceil() as u64;
        self.limit = (self.limit * factor).max(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Sample {
        Sample::Done {
            latency: Duration::from_millis(n),
            bytes: 2048,
        }
    }

    fn aimd(start: usize, max: usize) -> Aimd {
        Aimd::new(AimdConfig::new(Concurrency::adaptive(start, max)))
    }

    #[test]
    fn grows_by_about_one_per_round_while_the_server_keeps_up() {
        let mut c = aimd(4, 50);
        // One round at 4 in flight: 4 samples, each adding 1/limit.
        for _ in 0..4 {
            c.record(ms(20));
        }
        assert_eq!(
            c.limit(),
            4,
            "just under 5 after one round: 4 + 1/4 + 1/4.25 + …"
        );
        c.record(ms(20));
        assert_eq!(c.limit(), 5);
        for _ in 0..2000 {
            c.record(ms(20));
        }
        assert_eq!(c.limit(), 50, "grows to the cap and stays there");
    }

    #[test]
    fn a_fixed_limit_never_moves() {
        let mut c = Aimd::new(AimdConfig::new(Concurrency::fixed(5)));
        for _ in 0..100 {
            c.record(ms(10));
        }
        assert_eq!(c.limit(), 5);
        c.record(Sample::Overloaded);
        assert_eq!(c.limit(), 2, "but it does back off");
    }

    #[test]
    fn refusals_halve_the_limit_once_per_round() {
        let mut c = aimd(16, 50);
        c.record(ms(10));
        // A burst of 429s from uploads that were all in flight together: one halving.
        for _ in 0..10 {
            c.record(Sample::Overloaded);
        }
        assert_eq!(c.limit(), 8);
        // Once those 16 came back, the next refusal halves again, down to 1 at most.
        for _ in 0..8 {
            c.record(ms(10));
        }
        c.record(Sample::Overloaded);
        assert_eq!(c.limit(), 4);
        for _ in 0..50 {
            c.record(ms(10));
            c.record(Sample::Overloaded);
        }
        assert_eq!(c.limit(), 1);
        // And it climbs back while uploads are quick again.
        for _ in 0..20 {
            c.record(ms(10));
        }
        assert!(c.limit() > 1);
    }

    #[test]
    fn other_failures_say_nothing_about_load() {
        let mut c = aimd(8, 50);
        for _ in 0..10 {
            c.record(Sample::Other);
        }
        assert_eq!(c.limit(), 8);
        assert_eq!(
            Sample::of_error(&Error::FileChanged { path: "a".into() }),
            Sample::Other
        );
        assert_eq!(
            Sample::of_error(&Error::RateLimited {
                platform: crate::Platform::Vercel,
                retry_at: None
            }),
            Sample::Overloaded
        );
    }

    #[test]
    fn backs_off_when_the_server_starts_queueing() {
        let mut c = aimd(8, 50);
        for _ in 0..20 {
            c.record(ms(10));
        }
        let before = c.limit();
        // The server now takes three times as long per upload.
        for _ in 0..30 {
            c.record(ms(30));
        }
        assert!(c.limit() < before, "{} should be below {before}", c.limit());
    }

    #[test]
    fn large_uploads_are_not_mistaken_for_a_slow_server() {
        let mut c = aimd(4, 20);
        // 2 KB in 10 ms, then 20 MiB in 200 ms: the same server, sending more.
        for _ in 0..10 {
            c.record(ms(10));
        }
        for _ in 0..400 {
            c.record(Sample::Done {
                latency: Duration::from_millis(200),
                bytes: 20 * 1024 * 1024,
            });
        }
        assert_eq!(c.limit(), 20);
    }

    /// A server that handles `capacity` uploads at once, each in `service`; more in flight
    /// wait their turn. The limit settles where the queue stays short instead of growing to
    /// the cap.
    #[test]
    fn settles_near_a_servers_capacity() {
        let (capacity, service) = (4.0_f64, 10.0_f64);
        let mut c = aimd(2, 64);
        let mut history = Vec::new();
        for _ in 0..3000 {
            let in_flight = c.limit() as f64;
            let latency = service * (in_flight / capacity).max(1.0);
            c.record(ms(latency as u64));
            history.push(c.limit());
        }
        let tail = &history[2000..];
        let (lo, hi) = (*tail.iter().min().unwrap(), *tail.iter().max().unwrap());
        assert!(lo >= 4 && hi <= 8, "settled between {lo} and {hi}");
    }

    #[test]
    fn a_server_that_became_slower_for_good_is_taken_as_it_is() {
        let mut c = aimd(8, 50);
        for _ in 0..20 {
            c.record(ms(10));
        }
        // Ten times slower from now on, whatever we do: down to one upload, then growing again
        // against the new normal.
        for _ in 0..200 {
            c.record(ms(100));
        }
        assert!(c.limit() > 1, "{}", c.limit());
    }

    #[test]
    fn the_limit_stays_within_one_and_the_cap() {
        let mut c = aimd(100, 6);
        assert_eq!(c.limit(), 6, "a start above the cap is the cap");
        let mut c2 = aimd(0, 6);
        assert_eq!(c2.limit(), 1, "and a start of zero is one");
        for _ in 0..100 {
            c.record(Sample::Overloaded);
            c2.record(ms(1));
        }
        assert_eq!((c.limit(), c2.limit()), (1, 6));
    }
}
