//! Deterministic random identifiers.
//!
//! The emulator never needs cryptographic randomness: ids only have to look like the real
//! ones and be unique. A seeded SplitMix64 (Steele, Lea & Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014) keeps runs reproducible when a seed is given.

use std::sync::Mutex;

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Thread-safe id generator shared by all platforms.
#[derive(Debug)]
pub struct IdGen {
    rng: Mutex<SplitMix64>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";
const ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl IdGen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(SplitMix64::new(seed)),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut SplitMix64) -> T) -> T {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut rng)
    }

    /// `n` random characters drawn from `alphabet`.
    pub fn chars(&self, alphabet: &[u8], n: usize) -> String {
        self.with(|rng| {
            (0..n)
                .map(|_| alphabet[(rng.next_u64() % alphabet.len() as u64) as usize] as char)
                .collect()
        })
    }

    /// `n` lowercase hex characters.
    pub fn hex(&self, n: usize) -> String {
        self.chars(HEX, n)
    }

    /// `n` characters of `[a-z0-9]`.
    pub fn alnum(&self, n: usize) -> String {
        self.chars(ALNUM, n)
    }

    /// A version-4-shaped UUID string.
    pub fn uuid(&self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// A fresh 64-bit seed (for per-fault generators).
    pub fn seed(&self) -> u64 {
        self.with(|rng| rng.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_sequence_is_the_reference_one() {
        // Reference values of SplitMix64 seeded with 0.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn uuid_has_the_v4_shape() {
        let g = IdGen::new(7);
        let u = g.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
