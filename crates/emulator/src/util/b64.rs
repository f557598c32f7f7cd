//! Streaming base64 decoding, so large base64 uploads (Cloudflare assets) never need the
//! whole text in memory.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// A decode failure: the text is not standard padded base64.
#[derive(Debug, thiserror::Error)]
#[error("invalid base64: {0}")]
pub struct B64Error(String);

/// Incremental decoder for standard (padded) base64. Whitespace is skipped.
#[derive(Debug, Default)]
pub struct B64Decoder {
    carry: Vec<u8>,
    finished: bool,
}

impl B64Decoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `chunk`, appending the bytes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), B64Error> {
        self.carry
            .extend(chunk.iter().copied().filter(|c| !c.is_ascii_whitespace()));
        let whole = self.carry.len() / 4 * 4;
        if whole == 0 {
            return Ok(());
        }
        if self.finished {
            return Err(B64Error("data after padding".into()));
        }
        // Padding may only end the text: keep the last quad back if it holds '='.
        let ready = &self.carry[..whole];
        if ready[..whole - 4].contains(&b'=') {
            return Err(B64Error("padding inside the text".into()));
        }
        if ready[whole - 4..].contains(&b'=') {
            self.finished = true;
        }
        STANDARD
            .decode_vec(ready, out)
            .map_err(|e| B64Error(e.to_string()))?;
        self.carry.drain(..whole);
        Ok(())
    }

    /// Ends the text; fails when a partial quad is left over.
    pub fn finish(self) -> Result<(), B64Error> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(B64Error("truncated text".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_across_arbitrary_chunk_boundaries() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let text = STANDARD.encode(&data);
        for step in [1, 3, 4, 7, 64, 999] {
            let mut d = B64Decoder::new();
            let mut out = Vec::new();
            for c in text.as_bytes().chunks(step) {
                d.push(c, &mut out).expect("valid");
            }
            d.finish().expect("complete");
            assert_eq!(out, data, "step {step}");
        }
    }

    #[test]
    fn refuses_garbage_and_truncation() {
        let mut out = Vec::new();
        assert!(B64Decoder::new().push(b"ab!d", &mut out).is_err());
        let mut d = B64Decoder::new();
        d.push(b"abc", &mut out).expect("buffered");
        assert!(d.finish().is_err());
    }
}
