//! Upload JWTs (`specs/cloudflare.md §1.7`): three base64url segments, HS256-signed with a
//! per-emulator secret. Clients only decode the payload; the emulator also checks the
//! signature and `exp`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three segments, bad base64, bad JSON, or a wrong signature.
    #[error("invalid JWT")]
    Invalid,
    /// `exp` has passed.
    #[error("Expired JWT")]
    Expired,
}

/// Signs `claims` into a compact JWT.
pub fn issue(secret: &[u8], claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(mac(secret, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

fn mac(secret: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// Checks signature and expiry; returns the claims.
pub fn verify(secret: &[u8], token: &str, now_secs: u64) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Invalid);
    };
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Invalid)?;
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| JwtError::Invalid)?;
    m.update(format!("{h}.{p}").as_bytes());
    m.verify_slice(&sig).map_err(|_| JwtError::Invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwtError::Invalid)?;
    let claims: Value = serde_json::from_slice(&payload).map_err(|_| JwtError::Invalid)?;
    if claims["exp"].as_u64().is_some_and(|exp| exp <= now_secs) {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_detects_tampering_and_expiry() {
        let t = issue(b"k", &json!({"exp": 100, "max_file_count_allowed": 20000}));
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(
            verify(b"k", &t, 99).expect("valid")["max_file_count_allowed"],
            20000
        );
        assert_eq!(verify(b"k", &t, 100), Err(JwtError::Expired));
        assert_eq!(verify(b"other", &t, 0), Err(JwtError::Invalid));
        let mut forged = t.clone();
        forged.push('x');
        assert_eq!(verify(b"k", &forged, 0), Err(JwtError::Invalid));
    }
}
