//! `sitedrop-emulator [--port N] [--state-dir DIR] [--tls] …`: prints
//! `listening on http://127.0.0.1:PORT` as its first line (`https://` with `--tls`, then
//! `ca certificate PATH` as the second), then serves until killed.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use sitedrop_emulator::{AwsCredential, Config, Emulator};

/// A local twin of Cloudflare, Netlify, Vercel and AWS Amplify for tests.
#[derive(Debug, Parser)]
#[command(name = "sitedrop-emulator", version)]
struct Args {
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Keep blobs and unpacked sites here instead of a temporary directory.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Seed for ids and fault probabilities.
    #[arg(long)]
    seed: Option<u64>,
    /// Token accepted by Cloudflare, Netlify and Vercel (each can be overridden below).
    #[arg(long)]
    token: Option<String>,
    /// Token accepted by Cloudflare.
    #[arg(long)]
    cloudflare_token: Option<String>,
    /// Token accepted by Netlify.
    #[arg(long)]
    netlify_token: Option<String>,
    /// Token accepted by Vercel.
    #[arg(long)]
    vercel_token: Option<String>,
    /// Token known to every platform but expired/revoked.
    #[arg(long)]
    expired_token: Option<String>,
    /// Token that may read but not deploy.
    #[arg(long)]
    readonly_token: Option<String>,
    /// The Cloudflare account id.
    #[arg(long)]
    cloudflare_account: Option<String>,
    /// Another Cloudflare account the token sees (repeatable).
    #[arg(long)]
    cloudflare_extra_account: Vec<String>,
    /// The account's workers.dev subdomain.
    #[arg(long)]
    workers_subdomain: Option<String>,
    /// Start without a workers.dev subdomain (code 10007).
    #[arg(long)]
    no_workers_subdomain: bool,
    /// AWS access key id (replaces the default long-term key).
    #[arg(long)]
    aws_access_key_id: Option<String>,
    /// AWS secret access key for --aws-access-key-id.
    #[arg(long)]
    aws_secret_access_key: Option<String>,
    /// The Amplify region served; requests signed for another region are refused.
    #[arg(long)]
    aws_region: Option<String>,
    /// A name owned by someone else, as PLATFORM:NAME (cloudflare, netlify, vercel; repeatable).
    #[arg(long)]
    taken: Vec<String>,
    /// Initial knobs as a JSON object (same keys as POST /_emulator/config).
    #[arg(long)]
    knobs: Option<String>,
    /// Serve HTTPS and HTTP/2 with a certificate authority made at start-up; the second
    /// stdout line names its certificate file (trust it with SSL_CERT_FILE or
    /// NODE_EXTRA_CA_CERTS). Sites and /_emulator/ still answer plain HTTP on the port.
    #[arg(long)]
    tls: bool,
}

fn config(args: Args) -> anyhow::Result<Config> {
    let mut c = Config {
        port: args.port,
        state_dir: args.state_dir,
        tls: args.tls,
        ..Config::default()
    };
    if let Some(s) = args.seed {
        c.seed = s;
    }
    if let Some(t) = args.token {
        c.cloudflare_token = t.clone();
        c.netlify_token = t.clone();
        c.vercel_token = t;
    }
    if let Some(t) = args.cloudflare_token {
        c.cloudflare_token = t;
    }
    if let Some(t) = args.netlify_token {
        c.netlify_token = t;
    }
    if let Some(t) = args.vercel_token {
        c.vercel_token = t;
    }
    if let Some(t) = args.expired_token {
        c.expired_token = t;
    }
    if let Some(t) = args.readonly_token {
        c.readonly_token = t;
    }
    if let Some(a) = args.cloudflare_account {
        c.cloudflare_account_id = a;
    }
    c.cloudflare_extra_accounts = args.cloudflare_extra_account;
    if let Some(s) = args.workers_subdomain {
        c.cloudflare_workers_subdomain = Some(s);
    }
    if args.no_workers_subdomain {
        c.cloudflare_workers_subdomain = None;
    }
    if let Some(k) = args.aws_access_key_id {
        let secret = args
            .aws_secret_access_key
            .ok_or_else(|| anyhow::anyhow!("--aws-access-key-id needs --aws-secret-access-key"))?;
        c.aws_credentials[0] = AwsCredential {
            access_key_id: k,
            secret_access_key: secret,
            session_token: None,
        };
    }
    if let Some(r) = args.aws_region {
        c.aws_region = r;
    }
    for t in args.taken {
        let (p, n) = t
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--taken expects PLATFORM:NAME, got {t}"))?;
        c.taken_names.push((p.to_string(), n.to_string()));
    }
    if let Some(k) = args.knobs {
        let patch: serde_json::Value = serde_json::from_str(&k)?;
        c.knobs = c.knobs.merged(&patch).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = config(Args::parse())?;
    let emu = Emulator::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", emu.url())?;
        if let Some(ca) = emu.ca_file() {
            writeln!(out, "ca certificate {}", ca.display())?;
        }
        out.flush()?;
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    emu.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
