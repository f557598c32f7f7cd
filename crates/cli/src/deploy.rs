//! `sitedrop deploy` and `sitedrop rollback`.

use std::io::IsTerminal;
use std::path::PathBuf;

use sitedrop_core::error::ByteSize;
use sitedrop_core::history::{DeployStatus, Trigger};
use sitedrop_core::scan::SecretPolicy;
use sitedrop_core::{
    CancellationToken, DeployOutcome, DeployRequest, Engine, Environment, Error, Platform,
};

use crate::output::{self, duration, json_line};

#[derive(clap::Args)]
pub struct DeployArgs {
    /// The folder to publish
    pub dir: PathBuf,
    /// Where: cloudflare-pages, cloudflare-workers, netlify, vercel, amplify, local
    #[arg(long = "to")]
    pub to: Platform,
    /// The project / site name on the platform (default: remembered, or from the folder name)
    #[arg(long)]
    pub project: Option<String>,
    /// Publish to the production address (the default)
    #[arg(long, conflicts_with = "preview")]
    pub prod: bool,
    /// Publish to a separate preview address, leaving production as it is
    #[arg(long)]
    pub preview: bool,
    /// A note for the platform's deploy log
    #[arg(long)]
    pub message: Option<String>,
    /// Print progress and the result as JSON lines on stdout
    #[arg(long)]
    pub json: bool,
    /// Publish this file even though it looks like a secret (repeatable)
    #[arg(long = "allow-secret", value_name = "PATH")]
    pub allow_secret: Vec<String>,
    /// Publish every file that looks like a secret (.env, keys, .git/)
    #[arg(long)]
    pub allow_secrets: bool,
    /// After deploying, keep watching the folder and redeploy when files change (Ctrl-C stops)
    #[arg(long)]
    pub watch: bool,
    /// Make a new deployment even when nothing changed (Amplify otherwise skips it, since it
    /// would send every file again)
    #[arg(long)]
    pub force: bool,
}

/// Cancels the deploy on Ctrl-C, so the history records `cancelled` and nothing is published.
/// The first Ctrl-C cancels cleanly; a second one stops at once (exit 130, as shells expect
/// after SIGINT), leaving the history row to be marked interrupted on the next start.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
            eprintln!("Cancelling… (press Ctrl-C again to stop at once)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    cancel
}

pub async fn run(engine: &Engine, args: DeployArgs) -> Result<(), Error> {
    let request = DeployRequest {
        folder: args.dir.clone(),
        platform: args.to,
        project: args.project.clone(),
        environment: if args.preview {
            Environment::Preview
        } else {
            Environment::Production
        },
        message: args.message.clone(),
        trigger: Trigger::Manual,
        secrets: if args.allow_secrets {
            SecretPolicy::AllowAll
        } else if args.allow_secret.is_empty() {
            SecretPolicy::HoldBack
        } else {
            SecretPolicy::Allow(args.allow_secret.clone())
        },
        force: args.force,
    };
    let cancel = cancel_on_ctrl_c();
    let outcome = if args.json {
        engine
            .deploy(request.clone(), output::json_sink(), cancel.clone())
            .await?
    } else {
        let (sink, bar) = output::human_sink();
        let result = engine.deploy(request.clone(), sink, cancel.clone()).await;
        bar.finish_and_clear();
        result?
    };
    if args.json {
        print_done_json(&outcome);
    } else {
        print_done(&outcome);
    }
    if args.watch {
        return watch(engine, request, args.json, cancel).await;
    }
    if args.to == Platform::Local {
        keep_serving_local(engine, args.json).await;
    }
    Ok(())
}

fn print_done_json(outcome: &DeployOutcome) {
    json_line(&serde_json::json!({
        "event": "done",
        "id": outcome.id,
        "platform": outcome.platform.id(),
        "project": outcome.project,
        "status": outcome.status,
        "url": outcome.url,
        "production_url": outcome.production_url,
        "claim_url": outcome.claim_url,
        "files": outcome.files,
        "uploaded": outcome.uploaded,
        "bytes_uploaded": outcome.bytes_uploaded,
        "duration_ms": outcome.duration_ms,
        "held_back": outcome.held_back,
        "unchanged": outcome.unchanged,
    }));
}

fn print_done(outcome: &DeployOutcome) {
    if outcome.status == DeployStatus::Unchanged {
        println!("Live: {} (nothing changed)", outcome.url);
        if let Some(note) = &outcome.note {
            println!("{note}");
        }
        println!("To make a new deployment anyway, run the same command with --force.");
        return;
    }
    println!("Live: {}", outcome.url);
    if let Some(prod) = outcome
        .production_url
        .as_ref()
        .filter(|p| **p != outcome.url)
    {
        println!("Production address: {prod}");
    }
    println!(
        "{} files, {} uploaded ({}), in {} — deploy #{} to {} \"{}\".",
        outcome.files,
        outcome.uploaded,
        ByteSize(outcome.bytes_uploaded),
        duration(outcome.duration_ms),
        outcome.id,
        outcome.platform,
        outcome.project
    );
    if let Some(note) = &outcome.note {
        println!("{note}");
    }
    if outcome.unchanged {
        println!("Nothing changed since the live deploy: the platform already had every file.");
    }
    if let Some(claim) = &outcome.claim_url {
        println!("Claim it to keep it: {claim}");
    }
}

/// A local site is reachable only while a Sitedrop serves it; in a terminal, keep serving.
async fn keep_serving_local(engine: &Engine, json: bool) {
    if !engine.serves_local_sites().await {
        return; // The app or `sitedrop serve` already serves it.
    }
    if !json && std::io::stdout().is_terminal() {
        println!("Serving it from this terminal; press Ctrl-C to stop. (The Sitedrop app or `sitedrop serve` also serve it.)");
        let _ = tokio::signal::ctrl_c().await;
    } else if !json {
        println!("It is served while the Sitedrop app is open or `sitedrop serve` runs.");
    }
}

pub async fn rollback(engine: &Engine, deployment_id: i64, json: bool) -> Result<(), Error> {
    let cancel = cancel_on_ctrl_c();
    let outcome = if json {
        engine
            .rollback(deployment_id, output::json_sink(), cancel)
            .await?
    } else {
        engine
            .rollback(
                deployment_id,
                sitedrop_core::progress::no_progress(),
                cancel,
            )
            .await?
    };
    if json {
        print_done_json(&outcome);
    } else {
        println!(
            "Production is back to deploy #{deployment_id}: {}",
            outcome.url
        );
    }
    Ok(())
}

/// `--watch`: redeploy on every settled change until Ctrl-C.
async fn watch(
    engine: &Engine,
    request: DeployRequest,
    json: bool,
    cancel: CancellationToken,
) -> Result<(), Error> {
    use sitedrop_core::watch::{WatchEvent, WatchOptions};
    let options = WatchOptions {
        catch_up: false,
        ..Default::default()
    };
    let progress = if json {
        output::json_sink()
    } else {
        sitedrop_core::progress::no_progress()
    };
    let events: sitedrop_core::watch::WatchSink = std::sync::Arc::new(move |event: WatchEvent| {
        if json {
            json_line(&serde_json::json!({"event": "watch", "watch": event}));
            return;
        }
        match event {
            WatchEvent::Watching { folder } => {
                eprintln!(
                    "Watching {} for changes; press Ctrl-C to stop.",
                    folder.display()
                )
            }
            WatchEvent::Changed { .. } | WatchEvent::Stopped => {}
            WatchEvent::Deploying => eprintln!("Changes settled; deploying…"),
            WatchEvent::Deployed { outcome } => println!(
                "Live: {} ({} changed file{} uploaded, {}) — deploy #{}",
                outcome.url,
                outcome.uploaded,
                if outcome.uploaded == 1 { "" } else { "s" },
                duration(outcome.duration_ms),
                outcome.id
            ),
            WatchEvent::Unchanged => eprintln!("Nothing that would be published changed."),
            WatchEvent::Failed { message, .. } => eprintln!("Error: {message}"),
            WatchEvent::Paused { reason } => eprintln!("{reason}"),
        }
    });
    let handle = engine.watch(request, options, events, progress)?;
    cancel.cancelled().await;
    handle.stop().await;
    Ok(())
}
