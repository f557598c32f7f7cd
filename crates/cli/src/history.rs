//! `sitedrop history`.

use sitedrop_core::error::ByteSize;
use sitedrop_core::{Engine, Error};

use crate::output::{duration, json_line, utc};

pub fn list(engine: &Engine, json: bool, limit: usize) -> Result<(), Error> {
    let rows = engine.history().deployments(None, limit)?;
    if json {
        json_line(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        println!("No deploys yet.");
        return Ok(());
    }
    println!(
        "{:>5}  {:<20}  {:<18}  {:<20}  {:<11}  {:>6}  {:>8}  {:>9}  URL / ERROR",
        "#", "WHEN", "PLATFORM", "PROJECT", "STATUS", "FILES", "SENT", "TOOK"
    );
    for r in rows {
        let took = r
            .duration_ms
            .map(|ms| duration(ms.max(0) as u64))
            .unwrap_or_else(|| "-".into());
        let detail = match (&r.url, &r.error_message) {
            (_, Some(error)) => error.clone(),
            (Some(url), None) => url.clone(),
            (None, None) => String::new(),
        };
        println!(
            "{:>5}  {:<20}  {:<18}  {:<20}  {:<11}  {:>6}  {:>8}  {:>9}  {}",
            r.id,
            utc(r.started_at),
            r.platform.id(),
            r.project.unwrap_or_default(),
            r.status.id(),
            r.files_total,
            ByteSize(r.bytes_uploaded.max(0) as u64).to_string(),
            took,
            detail
        );
    }
    Ok(())
}
