//! The app's own preferences: a small JSON file next to the history (`app-settings.json` in
//! the data folder). Nothing secret ever goes in it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sitedrop_core::error::ErrorKind;

use crate::error::{AppError, AppResult};

/// The file's name inside the data folder.
const FILE: &str = "app-settings.json";

/// What a person chose in the app. Unknown or missing fields take their defaults, so an older
/// or newer file still opens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Also notify when an automatic publish (a watched site) succeeds; failures and pauses
    /// always notify.
    pub notify_watch_success: bool,
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Reads the settings; a missing or unreadable file gives the defaults (the person can choose
/// again, and nothing depends on a setting being remembered).
pub fn load(dir: &Path) -> Settings {
    std::fs::read(path(dir))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes the settings whole (a temporary file renamed over the old one), so a crash leaves
/// either the old file or the new one.
pub fn save(dir: &Path, settings: &Settings) -> AppResult<()> {
    let failed = |e: std::io::Error| {
        AppError::new(
            ErrorKind::Storage,
            format!(
                "Sitedrop could not save its settings in {}: {e}.",
                dir.display()
            ),
        )
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let json = serde_json::to_vec_pretty(settings)
        .map_err(|e| AppError::new(ErrorKind::Internal, format!("settings: {e}")))?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(failed)?;
    std::fs::rename(&tmp, path(dir)).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), Settings::default());
        let chosen = Settings {
            notify_watch_success: true,
        };
        save(dir.path(), &chosen).unwrap();
        assert_eq!(load(dir.path()), chosen);
    }

    #[test]
    fn a_damaged_or_foreign_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert_eq!(load(dir.path()), Settings::default());
        std::fs::write(
            dir.path().join(FILE),
            br#"{"notify_watch_success": true, "from_a_newer_app": 1}"#,
        )
        .unwrap();
        assert!(load(dir.path()).notify_watch_success);
    }
}
