//! Errors as the page receives them: `{ kind, message }`, plus what some kinds need to offer
//! their next step (the moment a limit resets; the accounts a token can reach).

use serde::Serialize;
use sitedrop_core::error::ErrorKind;
use sitedrop_core::Error;

/// An error for the UI. `kind` is the stable code (`token_invalid`, `file_too_large`,
/// `rate_limited`, …) that the UI branches on — one list, [`ErrorKind`], shared with the core
/// and the CLI; `message` is the sentence a person reads.
#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    pub kind: ErrorKind,
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
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AppError {
        AppError {
            kind,
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
    use std::collections::BTreeSet;

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
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_at_ms, Some(1_800_000_000_000));
    }

    /// The kinds `ui/errors.js` branches on (its `case '…':` labels).
    fn kinds_the_page_explains() -> BTreeSet<&'static str> {
        include_str!("../../ui/errors.js")
            .split("case '")
            .skip(1)
            .filter_map(|rest| rest.split_once("':").map(|(code, _)| code))
            .collect()
    }

    /// Kinds the page shows with its generic title and the core's own sentence: each is a
    /// decision, so a new kind must be added either to `ui/errors.js` or here.
    const GENERIC_ON_THE_PAGE: [ErrorKind; 9] = [
        ErrorKind::AccountChoiceNeeded, // the connect form lists the accounts instead
        ErrorKind::ProjectChoiceNeeded,
        ErrorKind::NotFound,
        ErrorKind::UnknownDeployment,
        ErrorKind::Invalid,
        ErrorKind::Internal,
        ErrorKind::Io,
        ErrorKind::BrowserFailed,
        ErrorKind::AddressRefused,
    ];

    #[test]
    fn the_page_explains_only_kinds_that_exist() {
        let explained = kinds_the_page_explains();
        assert!(
            explained.len() > 20,
            "ui/errors.js was not read: {explained:?}"
        );
        for code in &explained {
            assert!(
                code.parse::<ErrorKind>().is_ok(),
                "ui/errors.js explains {code:?}, which is no ErrorKind"
            );
        }
    }

    #[test]
    fn every_kind_is_explained_by_the_page_or_knowingly_generic() {
        let explained = kinds_the_page_explains();
        for &kind in ErrorKind::ALL {
            let generic = GENERIC_ON_THE_PAGE.contains(&kind);
            assert!(
                explained.contains(kind.as_str()) != generic,
                "{kind}: add it to ui/errors.js's explain(), or to GENERIC_ON_THE_PAGE (not both)"
            );
        }
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
