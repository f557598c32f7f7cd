//! Errors as the page receives them: `{ kind, message }`, plus what some kinds need to offer
//! their next step (the moment a limit resets; the accounts a token can reach).

use serde::Serialize;
use sitedrop_core::Error;

/// An error for the UI. `kind` is the core's stable code (`token_invalid`, `file_too_large`,
/// `rate_limited`, …) that the UI branches on; `message` is the sentence a person reads.
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    pub kind: String,
    pub message: String,
    /// When the platform accepts requests again (ms since the epoch), for "wait until HH:MM"
    /// in the person's own time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// The accounts a token can reach, when one must be chosen: `[id, name]` pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<(String, String)>>,
}

impl AppError {
    pub fn new(kind: &str, message: impl Into<String>) -> AppError {
        AppError {
            kind: kind.to_string(),
            message: message.into(),
            retry_at_ms: None,
            choices: None,
        }
    }
}

fn epoch_ms(at: &Option<std::time::SystemTime>) -> Option<u64> {
    at.as_ref()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

impl From<Error> for AppError {
    fn from(e: Error) -> AppError {
        let mut out = AppError::new(e.kind(), e.to_string());
        match &e {
            Error::RateLimited { retry_at, .. } => out.retry_at_ms = epoch_ms(retry_at),
            Error::QuotaExhausted { resets_at, .. } => out.retry_at_ms = epoch_ms(resets_at),
            Error::AccountChoiceNeeded { options, .. } => out.choices = Some(options.clone()),
            _ => {}
        }
        out
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use sitedrop_core::Platform;

    #[test]
    fn errors_serialise_as_kind_and_message() {
        let e: AppError = Error::TokenInvalid {
            platform: Platform::Netlify,
            detail: "401".into(),
        }
        .into();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "token_invalid");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .starts_with("Netlify did not accept the token"));
        assert!(json.get("retry_at_ms").is_none() && json.get("choices").is_none());
    }

    #[test]
    fn rate_limits_carry_the_moment_they_reset() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let e: AppError = Error::RateLimited {
            platform: Platform::Netlify,
            retry_at: Some(at),
        }
        .into();
        assert_eq!(e.kind, "rate_limited");
        assert_eq!(e.retry_at_ms, Some(1_800_000_000_000));
    }

    #[test]
    fn an_account_choice_lists_the_accounts() {
        let e: AppError = Error::AccountChoiceNeeded {
            platform: Platform::CloudflarePages,
            options: vec![("abc".into(), "Work".into())],
        }
        .into();
        assert_eq!(e.choices, Some(vec![("abc".into(), "Work".into())]));
    }
}
