//! Upload bodies streamed from disk: framing text (a JSON array for Pages, multipart parts for
//! Workers) around file contents that are base64-encoded as they are read
//! (`specs/cloudflare.md` §3.6, §4.4a).
//!
//! A full Pages bucket is 40 MiB of files, 53 MiB of JSON; nothing here holds more than a few
//! hundred KiB. A blocking thread reads, encodes and re-hashes each file and hands the bytes
//! to the request through a small channel, so a slow connection slows the reading rather than
//! filling memory. The re-hash (BLAKE3 over the base64 text being sent, §2) costs little and
//! catches a file that changed after it was fingerprinted: the request is cut short and the
//! deploy reports [`Error::FileChanged`] instead of publishing bytes under the wrong key.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::error::Error;
use crate::hash::Digest;
use crate::provider::{Attempt, ManifestFile};

/// Raw bytes read per step: a multiple of 3, so each step's base64 has no padding except the
/// file's last.
const READ: usize = 3 * 64 * 1024;
/// Encoded bytes handed to the connection at once.
const FLUSH: usize = 256 * 1024;
/// Chunks in flight between the reading thread and the connection.
const CHANNEL: usize = 4;

/// One piece of a body.
pub enum Piece {
    /// Framing, sent as is.
    Text(String),
    /// A file's contents, sent as standard padded base64.
    File(FilePiece),
}

/// A file to send, with what it was fingerprinted as.
pub struct FilePiece {
    pub abs: PathBuf,
    pub shown: String,
    pub size: u64,
    pub digest: Digest,
    pub ext: String,
}

impl FilePiece {
    pub fn of(file: &ManifestFile) -> FilePiece {
        FilePiece {
            abs: file.abs.clone(),
            shown: file.path.to_string(),
            size: file.size,
            digest: file.digest.clone(),
            ext: file.path.extension().to_string(),
        }
    }
}

/// A streamed body, its exact length, and what went wrong on the reading side if it broke.
pub struct Streamed {
    pub body: reqwest::Body,
    pub length: u64,
    pub problem: Problem,
}

/// Why a body was cut short by its reading side (a file changed or vanished), kept apart from
/// the body so it can be read after the body moved into a request.
#[derive(Clone, Default)]
pub struct Problem(Arc<Mutex<Option<Error>>>);

impl Problem {
    pub fn take(&self) -> Option<Error> {
        self.0.lock().ok().and_then(|mut p| p.take())
    }

    fn set(&self, err: Error) {
        if let Ok(mut p) = self.0.lock() {
            *p = Some(err);
        }
    }
}

/// The length of the base64 text of `n` bytes.
pub fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

/// Streams `pieces`, counting raw file bytes into `attempt` as the connection takes them.
pub fn base64_body(pieces: Vec<Piece>, attempt: &Attempt) -> Streamed {
    let length = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.len() as u64,
            Piece::File(f) => base64_len(f.size),
        })
        .sum();
    let problem = Problem::default();
    let (tx, rx) = mpsc::channel::<std::io::Result<(Bytes, u64)>>(CHANNEL);
    {
        let (attempt, problem) = (attempt.clone(), problem.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(err) = produce(pieces, &tx, &attempt) {
                problem.set(err);
                let _ = tx.blocking_send(Err(std::io::Error::other("the upload was cut short")));
            }
        });
    }
    let attempt = attempt.clone();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .map(move |item| {
        item.map(|(bytes, raw)| {
            attempt.add_bytes(raw);
            bytes
        })
    });
    Streamed {
        body: reqwest::Body::wrap_stream(stream),
        length,
        problem,
    }
}

/// The reading side. Returns early (with `Ok`) when the request went away.
fn produce(
    pieces: Vec<Piece>,
    tx: &mpsc::Sender<std::io::Result<(Bytes, u64)>>,
    attempt: &Attempt,
) -> Result<(), Error> {
    let mut out: Vec<u8> = Vec::with_capacity(FLUSH + base64_len(READ as u64) as usize);
    let mut raw = 0u64;
    let mut buf = vec![0u8; READ];
    // False when the receiver is gone: stop quietly.
    let flush = |out: &mut Vec<u8>, raw: &mut u64| -> bool {
        let chunk = Bytes::from(std::mem::take(out));
        out.reserve(FLUSH + base64_len(READ as u64) as usize);
        tx.blocking_send(Ok((chunk, std::mem::take(raw)))).is_ok()
    };
    for piece in pieces {
        let file = match piece {
            Piece::Text(text) => {
                out.extend_from_slice(text.as_bytes());
                continue;
            }
            Piece::File(file) => file,
        };
        attempt.file_started(&file.shown);
        let unreadable = |e: std::io::Error| Error::Unreadable {
            path: file.shown.clone(),
            reason: e.to_string(),
        };
        let changed = || Error::FileChanged {
            path: file.shown.clone(),
        };
        let mut reader = std::fs::File::open(&file.abs).map_err(unreadable)?;
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        loop {
            let n = read_full(&mut reader, &mut buf).map_err(unreadable)?;
            total += n as u64;
            if total > file.size {
                return Err(changed());
            }
            if n > 0 {
                let start = out.len();
                let encoded = base64_len(n as u64) as usize;
                out.resize(start + encoded, 0);
                let encoded = base64_simd::STANDARD
                    .encode(&buf[..n], base64_simd::Out::from_slice(&mut out[start..]));
                hasher.update(encoded);
                raw += n as u64;
                if out.len() >= FLUSH && !flush(&mut out, &mut raw) {
                    return Ok(());
                }
            }
            if n < buf.len() {
                break;
            }
        }
        hasher.update(file.ext.as_bytes());
        let digest = hasher.finalize().to_hex();
        if total != file.size || &digest.as_str()[..32] != file.digest.as_str() {
            return Err(changed());
        }
    }
    if !out.is_empty() || raw > 0 {
        flush(&mut out, &mut raw);
    }
    Ok(())
}

/// Fills `buf` unless the file ends first.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{hash_bytes, DigestKind};
    use crate::provider::UploadMeter;
    use base64::Engine as _;

    fn piece(dir: &std::path::Path, name: &str, bytes: &[u8]) -> FilePiece {
        let abs = dir.join(name);
        std::fs::write(&abs, bytes).unwrap();
        let ext = std::path::Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_string();
        FilePiece {
            abs,
            shown: name.into(),
            size: bytes.len() as u64,
            digest: hash_bytes(bytes, DigestKind::CfBlake3, &ext),
            ext,
        }
    }

    /// Runs the producer directly and gathers what it sends.
    fn run(pieces: Vec<Piece>) -> (Vec<u8>, u64, Result<(), Error>) {
        let meter = UploadMeter::new(0, 0, crate::progress::no_progress());
        let attempt = meter.attempt();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, mut rx) = mpsc::channel(1024);
        let result = produce(pieces, &tx, &attempt);
        drop(tx);
        let mut body = Vec::new();
        let mut raw = 0;
        rt.block_on(async {
            while let Some(Ok((b, r))) = rx.recv().await {
                body.extend_from_slice(&b);
                raw += r;
            }
        });
        (body, raw, result)
    }

    #[test]
    fn files_are_sent_as_base64_between_framing() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..(READ * 2 + 5)).map(|i| (i % 251) as u8).collect();
        let pieces = vec![
            Piece::Text("[".into()),
            Piece::File(piece(dir.path(), "a.bin", &big)),
            Piece::Text(",".into()),
            Piece::File(piece(dir.path(), "empty.txt", b"")),
            Piece::Text("]".into()),
        ];
        let length: u64 = 3 + base64_len(big.len() as u64);
        let (body, raw, result) = run(pieces);
        result.unwrap();
        let want = format!(
            "[{},]",
            base64::engine::general_purpose::STANDARD.encode(&big)
        );
        assert_eq!(String::from_utf8(body).unwrap(), want);
        assert_eq!(want.len() as u64, length);
        assert_eq!(raw, big.len() as u64);
    }

    #[test]
    fn a_file_that_changed_since_hashing_stops_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = piece(dir.path(), "page.html", b"<h1>one</h1>");
        std::fs::write(&p.abs, b"<h1>two</h1>").unwrap();
        let (_, _, result) = run(vec![Piece::File(p)]);
        assert_eq!(result.unwrap_err().kind(), "file_changed");

        p = piece(dir.path(), "grow.css", b"a{}");
        std::fs::write(&p.abs, b"a{}b{}").unwrap();
        let (_, _, result) = run(vec![Piece::File(p)]);
        assert_eq!(result.unwrap_err().kind(), "file_changed");
    }
}
