//! The judgement of a check, as pure functions: when a site counts as slow, and when a change
//! of state is worth telling the person (once per real change, never a storm).

use std::time::Duration;

use super::HealthState;

/// "Well above its usual time": slower than `factor` × the median of the site's recent good
/// checks, and slower than `floor` (a site that usually answers in 40 ms and now takes 200 ms is
/// not slow to a person).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowRule {
    pub factor: f64,
    pub floor: Duration,
    /// How many recent good checks make "usual": the baseline is their median.
    pub window: usize,
    /// Fewer good checks than this say nothing about what is usual yet: never slow.
    pub min_baseline: usize,
}

impl Default for SlowRule {
    fn default() -> Self {
        SlowRule {
            factor: 3.0,
            floor: Duration::from_secs(1),
            window: 20,
            min_baseline: 3,
        }
    }
}

impl SlowRule {
    /// Whether `ms` is slow against `recent_good_ms` (the response times of the site's last
    /// good checks, any order).
    pub fn is_slow(&self, ms: u64, recent_good_ms: &[u64]) -> bool {
        if recent_good_ms.len() < self.min_baseline || u128::from(ms) <= self.floor.as_millis() {
            return false;
        }
        let Some(usual) = median(recent_good_ms) else {
            return false;
        };
        ms as f64 > self.factor * usual
    }
}

/// The median of `values`; `None` when there are none.
pub fn median(values: &[u64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] as f64 + v[mid] as f64) / 2.0
    } else {
        v[mid] as f64
    })
}

/// A confirmed change of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// `None`: the site had no confirmed state yet (its first checks).
    pub from: Option<HealthState>,
    pub to: HealthState,
}

impl Transition {
    /// Whether a person is told: a site goes down, comes back, changes, gets back to what was
    /// published, or its certificate nears expiry. Getting slow (or fast again) is shown, not
    /// announced: it is too common and fixes itself.
    pub fn worth_notifying(&self) -> bool {
        matches!(
            self.to,
            HealthState::Down | HealthState::Changed | HealthState::CertExpiring
        ) || matches!(
            self.from,
            Some(HealthState::Down) | Some(HealthState::Changed)
        )
    }
}

/// The notification state machine of one site, kept in the history between checks.
///
/// A state is *announced* once it has been seen `confirm_after` checks in a row, in either
/// direction: one failed check is a blip, two are an outage, and recovery is debounced the same
/// way. So a flapping site (up, down, up, down, …) announces nothing until it settles, instead
/// of a notification per check. The very first "up" of a new site is taken at once, as nobody
/// is told about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alerts {
    /// The last state announced (or silently confirmed).
    pub announced: Option<HealthState>,
    /// A different state seen lately, not yet confirmed.
    pub candidate: Option<HealthState>,
    /// How many checks in a row have seen `candidate`.
    pub streak: u32,
}

/// How many checks in a row confirm a new state.
pub const CONFIRM_AFTER: u32 = 2;

impl Alerts {
    /// Feeds one check's state; returns the transition it confirms, if any.
    pub fn observe(&mut self, seen: HealthState, confirm_after: u32) -> Option<Transition> {
        if self.announced == Some(seen) {
            self.candidate = None;
            self.streak = 0;
            return None;
        }
        if self.candidate == Some(seen) {
            self.streak += 1;
        } else {
            self.candidate = Some(seen);
            self.streak = 1;
        }
        let first_up = self.announced.is_none() && seen == HealthState::Up;
        if self.streak >= confirm_after.max(1) || first_up {
            let from = self.announced.replace(seen);
            self.candidate = None;
            self.streak = 0;
            return Some(Transition { from, to: seen });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthState::*;

    #[test]
    fn slow_means_three_times_the_median_and_over_a_second() {
        let rule = SlowRule::default();
        let usual = [100, 120, 90, 110, 5000]; // one old outlier does not move the median
        assert!(rule.is_slow(1500, &usual), "1.5 s against a usual 110 ms");
        assert!(!rule.is_slow(900, &usual), "under the one-second floor");
        assert!(!rule.is_slow(1000, &usual), "the floor itself is not slow");
        assert!(!rule.is_slow(1200, &[500, 500, 500]), "3 x 500 ms is 1.5 s");
        assert!(rule.is_slow(1600, &[500, 500, 500]));
        assert!(
            !rule.is_slow(9000, &[100, 100]),
            "two checks say nothing yet"
        );
        assert!(!rule.is_slow(9000, &[]));
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[3, 1, 2]), Some(2.0));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    /// Runs a sequence of check states through a fresh machine; returns the confirmed
    /// transitions and which of them notify.
    fn run(seq: &[HealthState]) -> Vec<(Option<HealthState>, HealthState, bool)> {
        let mut alerts = Alerts::default();
        seq.iter()
            .filter_map(|s| alerts.observe(*s, CONFIRM_AFTER))
            .map(|t| (t.from, t.to, t.worth_notifying()))
            .collect()
    }

    #[test]
    fn a_flapping_site_notifies_nothing_until_it_settles() {
        let flapping = [Up, Down, Up, Down, Up, Down, Up, Down, Up];
        assert_eq!(run(&flapping), [(None, Up, false)]);
    }

    #[test]
    fn an_outage_notifies_once_going_down_and_once_coming_back() {
        let seq = [Up, Up, Down, Down, Down, Down, Up, Down, Down, Up, Up, Up];
        assert_eq!(
            run(&seq),
            [
                (None, Up, false),
                (Some(Up), Down, true),
                (Some(Down), Up, true)
            ],
            "a single up in the outage is not a recovery"
        );
    }

    #[test]
    fn a_site_down_from_the_start_is_announced_after_two_checks() {
        assert_eq!(run(&[Down]), []);
        assert_eq!(run(&[Down, Down]), [(None, Down, true)]);
    }

    #[test]
    fn changes_and_certificates_notify_slowness_does_not() {
        let seq = [
            Up,
            Slow,
            Slow,
            Up,
            Up,
            Changed,
            Changed,
            Up,
            Up,
            CertExpiring,
            CertExpiring,
        ];
        assert_eq!(
            run(&seq),
            [
                (None, Up, false),
                (Some(Up), Slow, false),
                (Some(Slow), Up, false),
                (Some(Up), Changed, true),
                (Some(Changed), Up, true),
                (Some(Up), CertExpiring, true),
            ]
        );
    }

    #[test]
    fn a_state_interrupted_by_another_starts_counting_again() {
        let mut alerts = Alerts::default();
        alerts.observe(Up, CONFIRM_AFTER);
        assert_eq!(alerts.observe(Down, CONFIRM_AFTER), None);
        assert_eq!(alerts.observe(Changed, CONFIRM_AFTER), None);
        assert_eq!(alerts.streak, 1);
        assert_eq!(
            alerts.observe(Changed, CONFIRM_AFTER),
            Some(Transition {
                from: Some(Up),
                to: Changed
            })
        );
    }
}
