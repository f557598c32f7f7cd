//! `sitedrop`: the engine for terminals and CI. A thin face: parse arguments, call the core,
//! render progress and results. Exit codes: 0 live, 1 the deploy failed, 2 bad usage or input;
//! `sitedrop status`: 0 when every site is up, 1 otherwise.

mod accounts;
mod deploy;
mod history;
mod output;
mod serve;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sitedrop_core::{Engine, EngineConfig, Error, Platform};

#[derive(Parser)]
#[command(
    name = "sitedrop",
    version,
    about = "Put a folder of static files on the web."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy a folder.
    Deploy(deploy::DeployArgs),
    /// Connect an account: the token is checked with the platform and kept in the system keychain.
    Login {
        /// cloudflare-pages (or cloudflare-workers), netlify, vercel, amplify
        platform: Platform,
        /// Cloudflare account id, Vercel team id (default: ask the platform)
        #[arg(long)]
        account: Option<String>,
        /// AWS region of your Amplify apps
        #[arg(long)]
        region: Option<String>,
        /// AWS access key id (the secret is asked for without echo)
        #[arg(long)]
        access_key_id: Option<String>,
    },
    /// Disconnect the accounts of a platform and delete their secrets from the keychain.
    Logout { platform: Platform },
    /// List connected accounts (never their secrets).
    Accounts {
        #[arg(long)]
        json: bool,
    },
    /// Show past deploys, newest first.
    History {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Make an earlier deploy the production one again.
    Rollback {
        /// The deploy's number, from `sitedrop history`
        deployment_id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Serve a folder on this computer, as a deploy would publish it, until Ctrl-C.
    Preview {
        dir: PathBuf,
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Check every published site now: up, slow, down, changed, or certificate expiring.
    /// Exit 0 when all are up, 1 otherwise.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Serve the sites deployed to "this computer" until Ctrl-C.
    Serve {
        #[arg(long)]
        port: Option<u16>,
    },
}

/// How a command ended.
pub enum Outcome {
    Ok,
    Failed(Error),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::History { .. } | Command::Accounts { .. } | Command::Status { .. }
    ) {
        quiet_on_closed_pipe();
    }
    let json = matches!(
        &cli.command,
        Command::Deploy(deploy::DeployArgs { json: true, .. })
            | Command::Accounts { json: true }
            | Command::History { json: true, .. }
            | Command::Rollback { json: true, .. }
            | Command::Status { json: true }
    );
    let result_line = matches!(&cli.command, Command::Deploy(_) | Command::Rollback { .. });
    match run(cli.command).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            output::report_error(&err, json, result_line);
            ExitCode::from(if err.is_input_error() { 2 } else { 1 })
        }
    }
}

/// Listings end quietly when their reader goes away (`sitedrop history | head`), as Unix tools
/// do, instead of panicking on the failed write. Only for listings: a deploy whose output pipe
/// closes keeps going, so it is never cut off halfway by a closed terminal.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of SIGPIPE (Rust ignores it) before anything is
    // written; sockets are unaffected, as they are written with MSG_NOSIGNAL.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs a command; `Ok(false)` when it ran but the answer is "not all well" (exit 1 without an
/// error: `sitedrop status` with a site that is not up).
async fn run(command: Command) -> Result<bool, Error> {
    if let Command::Preview { dir, port } = &command {
        return serve::preview(dir, *port).await.map(|()| true);
    }
    let engine = Engine::open(EngineConfig::from_process())?;
    if let Command::Status { json } = command {
        return status::run(&engine, json).await;
    }
    let done = match command {
        Command::Deploy(args) => deploy::run(&engine, args).await,
        Command::Login {
            platform,
            account,
            region,
            access_key_id,
        } => accounts::login(&engine, platform, account, region, access_key_id).await,
        Command::Logout { platform } => accounts::logout(&engine, platform).await,
        Command::Accounts { json } => accounts::list(&engine, json),
        Command::History { json, limit } => history::list(&engine, json, limit),
        Command::Rollback {
            deployment_id,
            json,
        } => deploy::rollback(&engine, deployment_id, json).await,
        Command::Serve { port } => serve::sites(&engine, port).await,
        Command::Preview { .. } | Command::Status { .. } => unreachable!("handled above"),
    };
    done.map(|()| true)
}
