//! Streaming file digests, one per platform's way of keying files.
//!
//! | kind | used by | definition |
//! |---|---|---|
//! | [`DigestKind::CfBlake3`] | Cloudflare Pages and Workers | `hex(BLAKE3(base64(bytes) ‖ ext))[..32]` (`specs/cloudflare.md` §2) |
//! | [`DigestKind::Sha1`] | Netlify, Vercel | SHA-1 of the raw bytes (`specs/netlify.md` §3.2, `specs/vercel.md` §3) |
//! | [`DigestKind::Sha256`] | this computer (content-addressed blobs) | SHA-256 of the raw bytes |
//! | [`DigestKind::Md5`] | Amplify's file-map mode | MD5 of the raw bytes (`specs/amplify.md`) |
//!
//! Files are read in fixed-size chunks, so memory stays flat whatever their size.

pub mod cache;
mod parallel;

use std::fmt;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha1::Digest as _;

pub use parallel::{hash_files, HashOutcome};

/// Which digest a platform keys files by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestKind {
    CfBlake3,
    Sha1,
    Sha256,
    Md5,
}

impl DigestKind {
    /// The name stored in the digest cache.
    pub fn id(self) -> &'static str {
        match self {
            DigestKind::CfBlake3 => "cf-blake3",
            DigestKind::Sha1 => "sha1",
            DigestKind::Sha256 => "sha256",
            DigestKind::Md5 => "md5",
        }
    }

    /// Whether the file's extension is part of the digest (so the cache must not share
    /// digests between two paths with the same bytes).
    pub fn uses_extension(self) -> bool {
        self == DigestKind::CfBlake3
    }
}

/// A lowercase hex digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    /// Wraps hex text read back from storage or a server.
    pub fn from_hex(hex: impl Into<String>) -> Digest {
        Digest(hex.into().to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Read size: large enough for sequential throughput, a multiple of 3 so base64 chunks carry
/// no padding until the last one.
const CHUNK: usize = 3 * 64 * 1024;

/// One of the four running hash states.
enum State {
    CfBlake3(Box<blake3::Hasher>),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Md5(md5::Md5),
}

impl State {
    fn new(kind: DigestKind) -> State {
        match kind {
            DigestKind::CfBlake3 => State::CfBlake3(Box::default()),
            DigestKind::Sha1 => State::Sha1(sha1::Sha1::new()),
            DigestKind::Sha256 => State::Sha256(sha2::Sha256::new()),
            DigestKind::Md5 => State::Md5(md5::Md5::new()),
        }
    }

    /// Feeds raw file bytes. For Cloudflare the bytes are base64-encoded first; `chunk` is a
    /// multiple of 3 bytes except for the file's last chunk, so concatenated encodings equal
    /// the encoding of the whole file.
    fn update(&mut self, chunk: &[u8], b64: &mut Vec<u8>) {
        match self {
            State::CfBlake3(h) => {
                h.update(encode_base64(chunk, b64));
            }
            State::Sha1(h) => h.update(chunk),
            State::Sha256(h) => h.update(chunk),
            State::Md5(h) => h.update(chunk),
        }
    }

    fn finish(self, ext: &str) -> Digest {
        let hex = match self {
            State::CfBlake3(mut h) => {
                h.update(ext.as_bytes());
                let full = h.finalize().to_hex();
                full.as_str()[..32].to_string()
            }
            State::Sha1(h) => hex::encode(h.finalize()),
            State::Sha256(h) => hex::encode(h.finalize()),
            State::Md5(h) => hex::encode(h.finalize()),
        };
        Digest(hex)
    }
}

/// Hashes everything `reader` yields. `ext` is the file's extension without the dot (only
/// Cloudflare's digest uses it). `on_chunk` sees each chunk's length and may stop the read.
pub fn hash_reader(
    mut reader: impl Read,
    kind: DigestKind,
    ext: &str,
    mut on_chunk: impl FnMut(usize) -> ControlFlow<()>,
) -> io::Result<Digest> {
    let mut state = State::new(kind);
    BUFFERS.with(|buffers| {
        // A thread's buffers serve every file it hashes: allocating (and zeroing) a fresh
        // chunk per file cost more than hashing a small file.
        let mut buffers = buffers.borrow_mut();
        let (buf, b64) = &mut *buffers;
        if buf.len() != CHUNK {
            buf.resize(CHUNK, 0);
        }
        loop {
            let n = read_full(&mut reader, buf)?;
            if n == 0 {
                break;
            }
            state.update(&buf[..n], b64);
            if on_chunk(n).is_break() {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
            }
            if n < buf.len() {
                break;
            }
        }
        Ok(())
    })?;
    Ok(state.finish(ext))
}

thread_local! {
    /// Each hashing thread's read buffer and base64 scratch space.
    static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// A digest computed piece by piece, for code that reads a file for another reason (packing
/// it into a zip) and checks it on the way. Pieces may have any length.
pub struct Hasher {
    state: State,
    /// Cloudflare's digest base64-encodes the bytes: up to two bytes wait here for a third.
    carry: Vec<u8>,
    b64: Vec<u8>,
}

impl Hasher {
    pub fn new(kind: DigestKind) -> Hasher {
        Hasher {
            state: State::new(kind),
            carry: Vec::new(),
            b64: Vec::new(),
        }
    }

    pub fn update(&mut self, mut piece: &[u8]) {
        if !matches!(self.state, State::CfBlake3(_)) {
            self.state.update(piece, &mut self.b64);
            return;
        }
        if !self.carry.is_empty() {
            let take = (3 - self.carry.len()).min(piece.len());
            self.carry.extend_from_slice(&piece[..take]);
            piece = &piece[take..];
            if self.carry.len() < 3 {
                return;
            }
            let carry = std::mem::take(&mut self.carry);
            self.state.update(&carry, &mut self.b64);
        }
        let whole = piece.len() - piece.len() % 3;
        self.state.update(&piece[..whole], &mut self.b64);
        self.carry.extend_from_slice(&piece[whole..]);
    }

    /// The digest; `ext` is the file's extension (only Cloudflare's digest uses it).
    pub fn finish(mut self, ext: &str) -> Digest {
        if !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            self.state.update(&carry, &mut self.b64);
        }
        self.state.finish(ext)
    }
}

/// Standard base64 (with padding) of `raw`, written into `out`, which grows as needed and is
/// reused between calls. SIMD: for Cloudflare every byte hashed and uploaded is encoded, and
/// the scalar encoder took a third of a deploy's CPU (BENCHMARKS.md).
pub fn encode_base64<'a>(raw: &[u8], out: &'a mut Vec<u8>) -> &'a [u8] {
    let n = base64_simd::STANDARD.encoded_length(raw.len());
    if out.len() < n {
        out.resize(n, 0);
    }
    base64_simd::STANDARD.encode(raw, base64_simd::Out::from_slice(&mut out[..n]))
}

/// Hashes a file from disk.
pub fn hash_file(path: &Path, kind: DigestKind, ext: &str) -> io::Result<Digest> {
    hash_reader(std::fs::File::open(path)?, kind, ext, |_| {
        ControlFlow::Continue(())
    })
}

/// Hashes bytes already in memory.
pub fn hash_bytes(bytes: &[u8], kind: DigestKind, ext: &str) -> Digest {
    let mut state = State::new(kind);
    let mut b64 = Vec::new();
    for chunk in bytes.chunks(CHUNK) {
        state.update(chunk, &mut b64);
    }
    state.finish(ext)
}

/// Fills `buf` unless the reader ends first; returns how much was read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn simd_base64_matches_the_reference_encoder_at_every_length() {
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let mut out = Vec::new();
        for len in (0..200).chain([1023, 1024, 1025, 4095, 4096, 4097, 5000]) {
            let expected = base64::engine::general_purpose::STANDARD.encode(&data[..len]);
            assert_eq!(
                encode_base64(&data[..len], &mut out),
                expected.as_bytes(),
                "{len}"
            );
        }
    }

    /// `specs/cloudflare.md` §2, all six vectors.
    #[test]
    fn cloudflare_vectors() {
        for (content, ext, want) in [
            (&b""[..], "", "af1349b9f5f9a1a6a0404dea36dcc949"),
            (b"hello world\n", "txt", "64e86c1f4ec071b997f1a6af69931db3"),
            (b"<h1>hi</h1>\n", "html", "17453d0cfb9bacc76d9f30d3cb9ca048"),
            (b"foobar", "png", "2082190357cfd3617ccfe04f340c6247"),
            (b"headersfile", "", "95dedb64e6d4940fc2e0f11f711cc2f4"),
            (b"func", "js", "09a79777abda8ccc8bdd51dd3ff8e9e9"),
        ] {
            assert_eq!(
                hash_bytes(content, DigestKind::CfBlake3, ext).as_str(),
                want,
                "{ext}"
            );
        }
    }

    /// `specs/netlify.md` §3.2 and `specs/vercel.md` §3.
    #[test]
    fn sha1_vectors() {
        for (content, want) in [
            (&b""[..], "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (b"hello world\n", "22596363b3de40b06f981fb85d82312e8c0ed511"),
            (b"<h1>hi</h1>\n", "5f1c1bcbe8be31cc950ac52c2765435ce4434c67"),
            (b"a.css", "620e19be10c3f2b37e299988bc82a067a61c1c30"),
        ] {
            assert_eq!(hash_bytes(content, DigestKind::Sha1, "").as_str(), want);
        }
    }

    /// FIPS 180-4 / RFC 6234 examples.
    #[test]
    fn sha256_vectors() {
        assert_eq!(
            hash_bytes(b"", DigestKind::Sha256, "").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash_bytes(b"abc", DigestKind::Sha256, "").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// RFC 1321 §A.5.
    #[test]
    fn md5_vectors() {
        for (content, want) in [
            (&b""[..], "d41d8cd98f00b204e9800998ecf8427e"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        ] {
            assert_eq!(hash_bytes(content, DigestKind::Md5, "").as_str(), want);
        }
    }

    #[test]
    fn pieces_of_any_length_hash_as_the_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
        for kind in [
            DigestKind::CfBlake3,
            DigestKind::Sha1,
            DigestKind::Sha256,
            DigestKind::Md5,
        ] {
            let mut h = Hasher::new(kind);
            for piece in data.chunks(1).take(5).chain(data[5..].chunks(997)) {
                h.update(piece);
            }
            assert_eq!(h.finish("js"), hash_bytes(&data, kind, "js"), "{kind:?}");
        }
    }

    /// A file larger than one chunk, not a multiple of 3, hashes as if read whole.
    #[test]
    fn streaming_equals_one_shot_across_chunk_boundaries() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 7)).map(|i| (i * 31 % 251) as u8).collect();
        let whole_b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let mut h = blake3::Hasher::new();
        h.update(whole_b64.as_bytes());
        h.update(b"bin");
        let want = &h.finalize().to_hex()[..32];
        // A reader that returns odd-sized pieces, as pipes and network filesystems do.
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1000);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let got = hash_reader(Dribble(&data), DigestKind::CfBlake3, "bin", |_| {
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(got.as_str(), want);
    }
}
