//! Reading request bodies: small ones into memory (with a cap), large ones streamed to disk.

use std::path::Path;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More bytes than the route accepts.
    #[error("request body larger than {0} bytes")]
    TooLarge(u64),
    /// The client went away or sent a broken stream.
    #[error("request body could not be read: {0}")]
    Read(String),
    /// Local disk trouble.
    #[error("disk error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads the whole body into memory, refusing more than `limit` bytes.
pub async fn to_bytes(body: Body, limit: u64) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A body spooled to a temporary file, removed when dropped.
#[derive(Debug)]
pub struct Spooled {
    /// The temporary file.
    pub path: tempfile::TempPath,
    /// Bytes written.
    pub size: u64,
}

/// Streams the body into a temporary file under `dir`, calling `inspect` on every chunk
/// (for hashing) and refusing more than `limit` bytes.
pub async fn spool(
    body: Body,
    dir: &Path,
    limit: u64,
    mut inspect: impl FnMut(&[u8]),
) -> Result<Spooled, BodyError> {
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let (std_file, path) = tmp.into_parts();
    let mut file =
        tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(std_file));
    let mut stream = body.into_data_stream();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(BodyError::TooLarge(limit));
        }
        inspect(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok(Spooled { path, size })
}
