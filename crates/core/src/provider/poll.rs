//! Waiting for a platform: the one loop that looks at a deploy (or a job, or a diff), tells
//! the person what it sees, and waits a little longer each time until the platform is done,
//! fails, or the time is up. Each platform gives only its rhythm ([`Poll`]) and what a look
//! means ([`Look`]).

use std::future::Future;
use std::time::{Duration, Instant};

use super::Cx;
use crate::error::{Error, Result};
use crate::progress::{Phase, Progress};

/// How a platform is polled: quick first looks that double, up to a cap that may grow with
/// the time waited, until a timeout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Poll {
    /// The first wait; each later one is twice the one before, up to the cap.
    pub first: Duration,
    /// `(until, cap)`: while less than `until` has been waited, waits are at most `cap`.
    /// Steps in order; after the last, [`Poll::cap`].
    pub steps: &'static [(Duration, Duration)],
    /// The longest wait once past every step.
    pub cap: Duration,
    /// How long to keep looking.
    pub timeout: Duration,
    /// Announce [`Phase::Poll`] before the first wait: the deploy is published and the
    /// platform is making it live. (Not for waits inside another phase, such as Netlify's
    /// diff while preparing.)
    pub announce: bool,
}

impl Poll {
    /// The wait after look number `round` (from 0), `elapsed` into the wait.
    pub fn delay(&self, round: u32, elapsed: Duration) -> Duration {
        let cap = self
            .steps
            .iter()
            .find(|(until, _)| elapsed < *until)
            .map_or(self.cap, |(_, cap)| *cap);
        let factor = 1u32.checked_shl(round).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(cap)
    }
}

/// What a look concluded.
pub(crate) enum Look<T> {
    /// Done: stop looking.
    Done(T),
    /// The platform says it failed: stop, with this error.
    Failed(Error),
    /// Not yet.
    Pending,
}

/// What one look saw: its conclusion, the state the platform named (compared between looks,
/// and named when the time runs out) and, if any, the words shown to the person when the
/// state changes — also for the last look, where a platform's final state is worth showing.
pub(crate) struct Seen<T> {
    pub look: Look<T>,
    pub state: String,
    pub detail: Option<String>,
}

impl<T> Seen<T> {
    pub fn new(look: Look<T>, state: impl Into<String>) -> Seen<T> {
        Seen {
            look,
            state: state.into(),
            detail: None,
        }
    }

    /// Shows `detail` when this state is new.
    pub fn showing(self, detail: impl Into<String>) -> Seen<T> {
        Seen {
            detail: Some(detail.into()),
            ..self
        }
    }
}

/// How a wait ended, short of an error or a cancel.
pub(crate) enum Polled<T> {
    Done(T),
    /// The time ran out while the platform still said `state`.
    TimedOut {
        state: String,
    },
}

/// Looks until `look` says done or failed (an error from `look` itself, such as a request
/// that failed for good, ends the wait too), the time is up, or `cx` is cancelled
/// ([`Error::Cancelled`]).
pub(crate) async fn poll_until<T, F, Fut>(cx: &Cx, poll: &Poll, mut look: F) -> Result<Polled<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Seen<T>>>,
{
    let started = Instant::now();
    let mut shown: Option<String> = None;
    let mut round = 0u32;
    loop {
        let seen = look().await?;
        if shown.as_deref() != Some(seen.state.as_str()) {
            if let Some(detail) = seen.detail {
                (cx.progress)(Progress::Processing { detail });
            }
            shown = Some(seen.state.clone());
        }
        match seen.look {
            Look::Done(value) => return Ok(Polled::Done(value)),
            Look::Failed(error) => return Err(error),
            Look::Pending => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= poll.timeout {
            return Ok(Polled::TimedOut { state: seen.state });
        }
        if round == 0 && poll.announce {
            (cx.progress)(Progress::Phase {
                phase: Phase::Poll,
                label: Phase::Poll.label(),
            });
        }
        let delay = poll.delay(round, elapsed);
        round = round.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cx.cancel.cancelled() => return Err(Error::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    #[test]
    fn waits_double_from_the_first_up_to_the_cap_for_the_time_waited() {
        const STEPS: &[(Duration, Duration)] = &[
            (Duration::from_secs(15), S),
            (Duration::from_secs(60), Duration::from_secs(5)),
        ];
        let poll = Poll {
            first: 25 * MS,
            steps: STEPS,
            cap: 30 * S,
            timeout: 1800 * S,
            announce: true,
        };
        let delays: Vec<Duration> = (0..8).map(|r| poll.delay(r, Duration::ZERO)).collect();
        assert_eq!(
            delays,
            [
                25 * MS,
                50 * MS,
                100 * MS,
                200 * MS,
                400 * MS,
                800 * MS,
                S,
                S
            ]
        );
        assert_eq!(poll.delay(20, 20 * S), 5 * S);
        assert_eq!(poll.delay(40, 600 * S), 30 * S);
        assert_eq!(poll.delay(u32::MAX, 600 * S), 30 * S, "no overflow");
    }

    fn cx() -> Cx {
        Cx {
            http: crate::http::Http::new(&crate::config::Env::default()).unwrap(),
            env: Default::default(),
            retry: Default::default(),
            progress: crate::progress::no_progress(),
            cancel: tokio_util::sync::CancellationToken::new(),
            data_dir: std::env::temp_dir(),
        }
    }

    const QUICK: Poll = Poll {
        first: MS,
        steps: &[],
        cap: S,
        timeout: Duration::from_secs(60),
        announce: false,
    };

    #[tokio::test(start_paused = true)]
    async fn looks_until_done() {
        let mut looks = 0;
        let polled = poll_until(&cx(), &QUICK, || {
            looks += 1;
            let now = looks;
            async move {
                Ok(if now == 3 {
                    Seen::new(Look::Done(now), "ready")
                } else {
                    Seen::new(Look::Pending, "building")
                })
            }
        })
        .await
        .unwrap();
        assert!(matches!(polled, Polled::Done(3)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_runs_out_names_the_last_state() {
        let polled = poll_until(&cx(), &QUICK, || async {
            Ok(Seen::new(Look::<()>::Pending, "queued"))
        })
        .await
        .unwrap();
        assert!(matches!(polled, Polled::TimedOut { state } if state == "queued"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_stops_the_wait() {
        let cx = cx();
        cx.cancel.cancel();
        let result = poll_until(&cx, &QUICK, || async {
            Ok(Seen::new(Look::<()>::Pending, "queued"))
        })
        .await;
        assert!(matches!(result, Err(Error::Cancelled)));
    }
}
