//! When a live site's TLS certificate stops being valid, read from the certificate the server
//! presented (DER, as rustls received it).

/// The certificate's `notAfter`, in milliseconds since the Unix epoch; `None` when the bytes
/// are not an X.509 certificate.
pub fn not_after_ms(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.validity().not_after.timestamp().checked_mul(1000)
}

/// Whole days from `now_ms` until `expires_ms` (negative once expired), rounded down.
pub fn days_left(expires_ms: i64, now_ms: i64) -> i64 {
    (expires_ms - now_ms).div_euclid(24 * 3600 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_not_after_from_a_real_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["blog.example.org".to_string()])
            .expect("valid name");
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 12, 18);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("certificate");
        // 2026-12-18T00:00:00Z
        assert_eq!(not_after_ms(cert.der()), Some(1_797_552_000_000));
    }

    #[test]
    fn garbage_is_no_certificate() {
        assert_eq!(not_after_ms(b"not a certificate"), None);
        assert_eq!(not_after_ms(&[]), None);
    }

    #[test]
    fn days_left_rounds_down_and_goes_negative() {
        let day = 24 * 3600 * 1000;
        assert_eq!(days_left(10 * day, 0), 10);
        assert_eq!(days_left(10 * day - 1, 0), 9);
        assert_eq!(days_left(0, 1), -1);
    }
}
