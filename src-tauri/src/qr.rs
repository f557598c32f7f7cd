//! QR codes for live URLs, drawn here because the page makes no network calls and loads no
//! scripts beyond its own.

use base64::Engine as _;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use sitedrop_core::error::ErrorKind;

use crate::error::{AppError, AppResult};

/// A QR code for `text` as a `data:image/svg+xml` URL, dark on light with a quiet zone (phone
/// cameras need the contrast whatever the app's theme).
pub fn svg_data_url(text: &str) -> AppResult<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| {
        AppError::new(
            ErrorKind::Invalid,
            format!("This address is too long for a QR code ({e})."),
        )
    })?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#111111"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_an_svg_data_url() {
        let url = svg_data_url("http://blog.localhost:4780/").unwrap();
        let b64 = url.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg") && svg.contains("#111111"), "{svg}");
    }
}
