//! The asset hash (`specs/cloudflare.md §2`): `hex(BLAKE3(base64(bytes) ‖ ext))[..32]`,
//! computed here independently of any client code.

use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The extension as `path.extname(p).substring(1)`: `""` for `README`, `.htaccess`, `a.`.
pub fn extension(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let trimmed = name.trim_start_matches('.');
    if trimmed.len() != name.len() && !trimmed.contains('.') {
        // `.htaccess`, `..b` is handled below.
        if name.starts_with("..") && !trimmed.is_empty() {
            return trimmed;
        }
        return "";
    }
    match name.rfind('.') {
        Some(0) | None => "",
        Some(i) => &name[i + 1..],
    }
}

/// Finishes a hash from a hasher that already saw the base64 text.
pub fn finish(mut hasher: blake3::Hasher, ext: &str) -> String {
    hasher.update(ext.as_bytes());
    hex::encode(&hasher.finalize().as_bytes()[..16])
}

/// Hash of in-memory bytes.
pub fn of_bytes(bytes: &[u8], ext: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(STANDARD.encode(bytes).as_bytes());
    finish(h, ext)
}

/// Hash of a file on disk, streamed (the base64 text is fed in 3-byte-aligned chunks).
pub fn of_file(path: &Path, ext: &str) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 3 * 64 * 1024];
    let mut filled = 0;
    loop {
        let n = f.read(&mut buf[filled..])?;
        filled += n;
        if n == 0 || filled == buf.len() {
            let whole = if n == 0 { filled } else { filled / 3 * 3 };
            h.update(STANDARD.encode(&buf[..whole]).as_bytes());
            buf.copy_within(whole..filled, 0);
            filled -= whole;
            if n == 0 {
                break;
            }
        }
    }
    Ok(finish(h, ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        assert_eq!(of_bytes(b"", ""), "af1349b9f5f9a1a6a0404dea36dcc949");
        assert_eq!(
            of_bytes(b"hello world\n", "txt"),
            "64e86c1f4ec071b997f1a6af69931db3"
        );
        assert_eq!(
            of_bytes(b"<h1>hi</h1>\n", "html"),
            "17453d0cfb9bacc76d9f30d3cb9ca048"
        );
        assert_eq!(
            of_bytes(b"foobar", "png"),
            "2082190357cfd3617ccfe04f340c6247"
        );
        assert_eq!(
            of_bytes(b"headersfile", ""),
            "95dedb64e6d4940fc2e0f11f711cc2f4"
        );
        assert_eq!(of_bytes(b"func", "js"), "09a79777abda8ccc8bdd51dd3ff8e9e9");
    }

    #[test]
    fn extension_matches_node_extname() {
        for (p, e) in [
            (".htaccess", ""),
            ("README", ""),
            ("a.", ""),
            ("a.tar.gz", "gz"),
            ("IMG.JPG", "JPG"),
            ("..b", "b"),
            ("x/.env.local", "local"),
            ("/dir.v2/file", ""),
        ] {
            assert_eq!(extension(p), e, "{p}");
        }
    }

    #[test]
    fn file_hash_equals_memory_hash_across_chunk_sizes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for len in [0usize, 1, 2, 3, 4, 196_607, 196_608, 400_001] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let p = dir.path().join("f");
            std::fs::write(&p, &data).expect("write");
            assert_eq!(
                of_file(&p, "bin").expect("hash"),
                of_bytes(&data, "bin"),
                "len {len}"
            );
        }
    }
}
