//! Upload bodies read from files, with as few trips between the async runtime and the
//! blocking threads as the file allows.
//!
//! `tokio::fs` runs every `open`, `metadata` and `read` as its own blocking task: a 2 KB page
//! cost three round trips through the thread pool, which is most of what uploading it costs
//! when the server is near. Here a small file (at most [`WHOLE`]) is opened, checked and read
//! in **one** blocking call and sent from memory; a larger one is opened and checked in one
//! call, then read by one blocking task that hands [`CHUNK`]-sized pieces to the request
//! through a channel of [`DEPTH`] — so a slow connection slows the reading instead of filling
//! memory, and no file is ever held whole unless it is small.

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Files up to this size are read whole (at most this much per upload in flight).
pub const WHOLE: u64 = 1024 * 1024;
/// Larger files go out in pieces of this size…
pub const CHUNK: usize = 256 * 1024;
/// …with at most this many read ahead of the connection.
pub const DEPTH: usize = 2;

/// Why a file could not be sent as it was fingerprinted.
#[derive(Debug)]
pub enum BodyError {
    /// It could not be opened or read.
    Unreadable(std::io::Error),
    /// Its size is no longer the one it was hashed with.
    Changed,
}

/// Opens `path`, checks that it still has `size` bytes, and returns a body that yields its
/// bytes, calling `on_chunk` with each piece's length as the connection takes it.
pub async fn file_body(
    path: &Path,
    size: u64,
    on_chunk: impl Fn(u64) + Send + Sync + 'static,
) -> Result<reqwest::Body, BodyError> {
    Ok(reqwest::Body::wrap_stream(
        file_stream(path, size, on_chunk).await?,
    ))
}

/// The stream behind [`file_body`].
pub async fn file_stream(
    path: &Path,
    size: u64,
    on_chunk: impl Fn(u64) + Send + Sync + 'static,
) -> Result<impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static, BodyError> {
    let path = path.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || open(&path, size))
        .await
        .map_err(|e| BodyError::Unreadable(std::io::Error::other(e)))??;
    let stream = match opened {
        Opened::Whole(bytes) => futures_util::stream::iter([Ok(bytes)]).left_stream(),
        Opened::Large(file) => chunks(file, size).right_stream(),
    };
    Ok(stream.inspect(move |c| {
        if let Ok(c) = c {
            on_chunk(c.len() as u64);
        }
    }))
}

enum Opened {
    Whole(Bytes),
    Large(std::fs::File),
}

fn open(path: &PathBuf, size: u64) -> Result<Opened, BodyError> {
    let mut file = std::fs::File::open(path).map_err(BodyError::Unreadable)?;
    let len = file.metadata().map_err(BodyError::Unreadable)?.len();
    if len != size {
        return Err(BodyError::Changed);
    }
    if size > WHOLE {
        return Ok(Opened::Large(file));
    }
    // One byte more than expected would show a file that grew since `metadata`.
    let mut buf = Vec::with_capacity(size as usize + 1);
    (&mut file)
        .take(size + 1)
        .read_to_end(&mut buf)
        .map_err(BodyError::Unreadable)?;
    if buf.len() as u64 != size {
        return Err(BodyError::Changed);
    }
    Ok(Opened::Whole(Bytes::from(buf)))
}

/// Reads `file` on a blocking thread, `CHUNK` at a time, into a channel of `DEPTH`. A read
/// error, or a file whose length no longer matches, ends the stream with an error, which
/// aborts the request.
fn chunks(
    mut file: std::fs::File,
    size: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(DEPTH);
    tokio::task::spawn_blocking(move || {
        let mut sent = 0u64;
        loop {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            while filled < CHUNK {
                match file.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
            sent += filled as u64;
            if sent > size || (filled < CHUNK && sent != size) {
                let _ = tx.blocking_send(Err(std::io::Error::other(
                    "the file changed while it was being sent",
                )));
                return;
            }
            if filled > 0 {
                buf.truncate(filled);
                if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                    return; // The request went away.
                }
            }
            if filled < CHUNK {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    async fn collect(
        stream: impl futures_util::Stream<Item = std::io::Result<Bytes>>,
    ) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn small_and_large_files_arrive_whole_and_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        for size in [
            0usize,
            10,
            WHOLE as usize,
            WHOLE as usize + 1,
            3 * CHUNK + 7,
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("f{size}"));
            std::fs::write(&path, &data).unwrap();
            let counted = Arc::new(AtomicU64::new(0));
            let c = counted.clone();
            let body = file_stream(&path, size as u64, move |n| {
                c.fetch_add(n, Ordering::Relaxed);
            })
            .await
            .unwrap();
            assert_eq!(collect(body).await.unwrap(), data, "size {size}");
            assert_eq!(counted.load(Ordering::Relaxed), size as u64);
        }
    }

    #[tokio::test]
    async fn a_file_whose_size_changed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.html");
        std::fs::write(&path, b"<h1>longer now</h1>").unwrap();
        let err = file_stream(&path, 5, |_| {}).await.err().unwrap();
        assert!(matches!(err, BodyError::Changed));
        let err = file_stream(&dir.path().join("gone"), 5, |_| {})
            .await
            .err()
            .unwrap();
        assert!(matches!(err, BodyError::Unreadable(_)));
    }
}
