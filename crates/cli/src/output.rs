//! Rendering: a progress bar on a terminal, plain lines elsewhere, JSON lines with `--json`.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sitedrop_core::error::ByteSize;
use sitedrop_core::history::DeployStatus;
use sitedrop_core::{Error, Progress, ProgressSink};

/// Prints one JSON object as a line on stdout.
pub fn json_line(value: &impl Serialize) {
    let mut out = std::io::stdout().lock();
    if let Ok(text) = serde_json::to_string(value) {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// A sink that writes every event as a JSON line.
pub fn json_sink() -> ProgressSink {
    Arc::new(|event: Progress| json_line(&event))
}

/// A sink that draws a bar on a terminal, or prints phase lines when stderr is not one.
pub fn human_sink() -> (ProgressSink, ProgressBar) {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(12));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let interactive = !bar.is_hidden();
    let b = bar.clone();
    let sink: ProgressSink = Arc::new(move |event: Progress| match event {
        Progress::Phase { phase, label } => {
            if phase == sitedrop_core::Phase::Done {
                return;
            }
            if interactive {
                b.set_style(spinner_style());
                b.set_message(label.to_string());
            } else {
                eprintln!("{label}…");
            }
        }
        Progress::Scanning { files, bytes } => b.set_message(format!(
            "Looking at your files: {files} files, {}",
            ByteSize(bytes)
        )),
        Progress::Scanned {
            files,
            bytes,
            ignored,
            held_back,
        } => {
            let mut line = format!("Found {files} files ({})", ByteSize(bytes));
            if ignored + held_back > 0 {
                line.push_str(&format!(
                    "; left out {ignored} ignored and {held_back} held back"
                ));
            }
            if interactive {
                b.println(line);
            } else {
                eprintln!("{line}");
            }
        }
        Progress::Hashing {
            files_done,
            files_total,
            bytes_done,
            bytes_total,
        } => bars(
            &b,
            interactive,
            "Fingerprinting",
            files_done,
            files_total,
            bytes_done,
            bytes_total,
            None,
        ),
        Progress::Uploading {
            files_done,
            files_total,
            bytes_done,
            bytes_total,
            current,
        } => bars(
            &b,
            interactive,
            "Uploading",
            files_done,
            files_total,
            bytes_done,
            bytes_total,
            current,
        ),
        Progress::Processing { detail } => {
            if interactive {
                b.set_style(spinner_style());
                b.set_message(format!("Waiting for the platform: {detail}"));
            } else {
                eprintln!("Waiting for the platform: {detail}");
            }
        }
        Progress::Warning { message } => {
            if interactive {
                b.println(format!("Note: {message}"));
            } else {
                eprintln!("Note: {message}");
            }
        }
    });
    (sink, bar)
}

#[allow(clippy::too_many_arguments)]
fn bars(
    bar: &ProgressBar,
    interactive: bool,
    what: &str,
    files_done: u64,
    files_total: u64,
    bytes_done: u64,
    bytes_total: u64,
    current: Option<String>,
) {
    if !interactive || bytes_total == 0 && files_total == 0 {
        return;
    }
    bar.set_style(bar_style());
    bar.set_length(bytes_total.max(1));
    bar.set_position(bytes_done.min(bytes_total));
    let mut msg = format!("{what} {files_done}/{files_total} files");
    if let Some(current) = current {
        msg.push_str(&format!(" · {current}"));
    }
    bar.set_message(msg);
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg} [{elapsed}]")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// The next step for an error, phrased for the terminal.
fn cli_hint(err: &Error) -> Option<String> {
    match err {
        Error::NoCredentials { platform, .. }
        | Error::TokenInvalid { platform, .. }
        | Error::TokenExpired { platform }
        | Error::PermissionMissing { platform, .. } => {
            Some(format!("Run `sitedrop login {}`.", platform.id()))
        }
        Error::AccountChoiceNeeded { platform, .. } => Some(format!(
            "Run `sitedrop login {} --account ID` with the id of the account to use.",
            platform.id()
        )),
        Error::ProjectNameInvalid { .. } | Error::ProjectNameTaken { .. } => {
            Some("Give the name with `--project NAME`.".into())
        }
        Error::BadFileName { .. } | Error::FileTooLarge { .. } => Some(
            "List files to leave out in a .sitedropignore file in the folder (gitignore syntax)."
                .into(),
        ),
        _ => None,
    }
}

/// Prints an error as a sentence (and its next step), or as JSON lines: the `error` event,
/// then — for a deploy or rollback, whose last line is always the result — a `done` line
/// with its status.
pub fn report_error(err: &Error, json: bool, result_line: bool) {
    if json {
        json_line(
            &serde_json::json!({"event": "error", "kind": err.kind(), "message": err.to_string()}),
        );
        if result_line {
            let status = DeployStatus::after(err);
            json_line(&serde_json::json!({
                "event": "done", "status": status, "kind": err.kind(), "message": err.to_string(),
            }));
        }
    } else {
        eprintln!("Error: {err}");
        if let Some(hint) = cli_hint(err) {
            eprintln!("{hint}");
        }
    }
}

/// "1.2 s", "3 min 4 s".
pub fn duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// "2026-11-22 14:05 UTC" from Unix milliseconds (civil-from-days, H. Hinnant, "chrono-
/// Compatible Low-Level Date Algorithms").
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_305_900_000), "2026-11-22 00:05 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(1234), "1.2 s");
        assert_eq!(duration(184_000), "3 min 4 s");
    }
}
