//! The Content-Type sent with each file. Pages and Workers follow different rules
//! (`specs/cloudflare.md` §9): wrangler uses npm `mime` v3 for Pages and v4 for Workers, and
//! only Workers adds a charset and a "no type" sentinel. `mime_guess` knows the same
//! extensions; the few entries where the npm packages answer differently are set here.

/// Pages (§3.2): `mime@3`'s type for the file name, else `application/octet-stream`; no charset.
pub fn pages(path: &str) -> String {
    match extension(path).as_str() {
        "js" | "mjs" | "cjs" => "application/javascript".into(),
        "xml" => "application/xml".into(),
        _ => mime_guess::from_path(path)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string(),
    }
}

/// Workers (§4.2): `mime@4`'s type; `text/*` gets `; charset=utf-8`; a file `mime` does not
/// know is sent as `application/null`, which Cloudflare reads as "serve without a
/// Content-Type".
pub fn workers(path: &str) -> String {
    let known = match extension(path).as_str() {
        "js" | "mjs" | "cjs" => Some("text/javascript"),
        "xml" => Some("application/xml"),
        _ => mime_guess::from_path(path).first_raw(),
    };
    match known {
        Some(t) if t.starts_with("text/") && !t.contains("charset") => {
            format!("{t}; charset=utf-8")
        }
        Some(t) => t.to_string(),
        None => "application/null".into(),
    }
}

fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables of §3.2 and §4.2.
    #[test]
    fn pages_types_have_no_charset() {
        for (path, want) in [
            ("app.js", "application/javascript"),
            ("index.html", "text/html"),
            ("notes.txt", "text/plain"),
            ("README", "application/octet-stream"),
            ("img/LOGO.PNG", "image/png"),
        ] {
            assert_eq!(pages(path), want, "{path}");
        }
    }

    #[test]
    fn workers_types_add_charset_and_the_null_sentinel() {
        for (path, want) in [
            ("app.js", "text/javascript; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("data.json", "application/json"),
            ("blob.bin", "application/octet-stream"),
            ("README", "application/null"),
            (".DS_Store", "application/null"),
            ("css/site.css", "text/css; charset=utf-8"),
        ] {
            assert_eq!(workers(path), want, "{path}");
        }
    }
}
