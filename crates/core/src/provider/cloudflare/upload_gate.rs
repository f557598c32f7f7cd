//! Upload concurrency that backs off when Cloudflare's edge times out (HTTP 524). wrangler
//! drops to one upload at a time on a 524 (`specs/cloudflare.md` §3.6 step 2, §4.4c); like
//! wrangler 4.164's Workers path, Sitedrop then lets one more upload run after each success,
//! so a single slow moment does not slow the rest of a large deploy.
//!
//! The engine decides how many uploads it starts; the gate only holds some of them back.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Named apart from [`crate::progress::Throttle`], which spaces out progress events: this one
/// limits uploads in flight.
pub struct UploadGate {
    permits: Semaphore,
    /// Permits that exist (held or free).
    total: AtomicUsize,
    /// How many uploads may run now.
    allowed: AtomicUsize,
    max: usize,
}

/// Leave to upload; give it back with [`UploadGate::done`].
pub struct Pass<'a>(Option<SemaphorePermit<'a>>);

impl UploadGate {
    pub fn new(max: usize) -> UploadGate {
        let max = max.max(1);
        UploadGate {
            permits: Semaphore::new(max),
            total: AtomicUsize::new(max),
            allowed: AtomicUsize::new(max),
            max,
        }
    }

    /// Waits until an upload may start.
    pub async fn enter(&self) -> Pass<'_> {
        Pass(self.permits.acquire().await.ok())
    }

    /// Ends an upload: `gateway` when it met a 524, `ok` when it succeeded.
    pub fn done(&self, mut pass: Pass<'_>, ok: bool, gateway: bool) {
        if gateway {
            self.allowed.store(1, Ordering::SeqCst);
        } else if ok {
            let allowed = self.allowed.load(Ordering::SeqCst);
            if allowed < self.max {
                self.allowed.store(allowed + 1, Ordering::SeqCst);
            }
        }
        // Shrink by not returning this permit, or grow by adding one.
        let allowed = self.allowed.load(Ordering::SeqCst);
        let total = self.total.load(Ordering::SeqCst);
        if total > allowed {
            if let Some(permit) = pass.0.take() {
                permit.forget();
                self.total.fetch_sub(1, Ordering::SeqCst);
            }
        } else if total < allowed {
            self.permits.add_permits(1);
            self.total.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// How many uploads may run now.
    #[cfg(test)]
    pub fn allowed(&self) -> usize {
        self.allowed.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_gateway_timeout_drops_to_one_then_success_recovers() {
        let t = UploadGate::new(3);
        let (a, b, c) = (t.enter().await, t.enter().await, t.enter().await);
        assert_eq!(t.permits.available_permits(), 0);
        t.done(a, false, true);
        assert_eq!(t.allowed(), 1);
        t.done(b, false, false);
        // Two permits were held back; the third upload is still running.
        assert_eq!(
            (
                t.total.load(Ordering::SeqCst),
                t.permits.available_permits()
            ),
            (1, 0)
        );
        t.done(c, true, false);
        assert_eq!((t.allowed(), t.total.load(Ordering::SeqCst)), (2, 2));
        assert_eq!(t.permits.available_permits(), 2);
        let d = t.enter().await;
        t.done(d, true, false);
        assert_eq!((t.allowed(), t.permits.available_permits()), (3, 3));
    }
}
