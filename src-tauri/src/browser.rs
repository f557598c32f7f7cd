//! Opening an address in the person's browser. The page asks; Rust decides.
//!
//! The opener plugin's own scope matches URLs with globs, where `*` also crosses `/`, so
//! "http only for this computer" cannot be written as a pattern (`http://*.localhost:*` matches
//! `http://anywhere.example/.localhost:1`). The page therefore has no opener permission at all;
//! this command parses the address and allows https anywhere and plain http only to this
//! computer (the private preview at `http://NAME.localhost:4780/`).

use sitedrop_core::error::ErrorKind;
use tauri::{AppHandle, Url};
use tauri_plugin_opener::OpenerExt;

use crate::error::{AppError, AppResult};

/// Opens `address` in the default browser when [`may_open`] allows it.
#[tauri::command]
pub fn open_in_browser(app: AppHandle, address: String) -> AppResult<()> {
    let url = may_open(&address)?;
    app.opener()
        .open_url(url.as_str(), None::<&str>)
        .map_err(|e| AppError::new(ErrorKind::BrowserFailed, format!("The browser could not be opened ({e}). Copy the address and paste it into your browser instead.")))
}

/// The address, parsed, if it is one Sitedrop opens: https, or http to this computer.
pub fn may_open(address: &str) -> AppResult<Url> {
    let refused = || {
        AppError::new(
            ErrorKind::AddressRefused,
            "Sitedrop opens only web addresses (https, or http on this computer); copy this one instead.",
        )
    };
    let url = Url::parse(address).map_err(|_| refused())?;
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let allowed = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => local,
        _ => false,
    };
    // Credentials in an address are never something Sitedrop made.
    if !allowed || !url.username().is_empty() || url.password().is_some() {
        return Err(refused());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::may_open;

    #[test]
    fn https_anywhere_and_http_only_on_this_computer() {
        for ok in [
            "https://blog.netlify.app/",
            "https://app.netlify.com/drop/claim#t=1",
            "http://blog.localhost:4780/",
            "http://localhost:4780/",
            "http://127.0.0.1:8080/x",
            "http://[::1]:4780/",
        ] {
            assert!(may_open(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://example.com/",
            "http://example.com/.localhost:4780/",
            "http://localhost.example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pass@example.com/",
            "not a url",
            "",
        ] {
            let e = may_open(refused).expect_err(refused);
            assert_eq!(e.kind, "address_refused");
        }
    }
}
