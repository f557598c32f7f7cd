//! sitedrop-core: Sitedrop's deploy engine.
//!
//! One engine, three faces (the desktop app, the `sitedrop` CLI, the tests). Faces never talk
//! HTTP, SQL or the keychain themselves: they hold an [`Engine`] and call it.
//!
//! - [`scan`] walks a folder and decides what belongs to the site;
//! - [`hash`] computes each platform's file digests, cached in the history;
//! - [`provider`] holds what differs per platform, behind one trait;
//! - [`deploy`] runs the pipeline, reporting [`progress`] and honouring cancellation;
//! - [`history`] is the SQLite history; [`secrets`] the OS keychain;
//! - [`serve`] serves "this computer" sites and previews;
//! - [`watch`] redeploys a folder when it changes; [`watch_registry`] keeps a process's
//!   watched sites and what each is doing.
//! - [`health`] checks that published sites are still up and serving what was published.

pub mod concurrency;
pub mod config;
pub mod deploy;
pub mod engine;
pub mod error;
pub mod hash;
pub mod health;
pub mod history;
pub mod http;
pub mod limits;
pub mod overview;
pub mod platform;
pub mod progress;
pub mod progress_throttle;
pub mod provider;
pub mod relpath;
pub mod retry;
pub mod scan;
pub mod secrets;
pub mod serve;
pub mod verify;
pub mod watch;
pub mod watch_registry;

pub use deploy::{DeployOutcome, DeployRequest};
pub use engine::{Engine, EngineConfig, FolderReport};
pub use error::{Error, ErrorKind, Result};
pub use platform::{Environment, Platform};
pub use progress::{Phase, Progress, ProgressSink};
pub use tokio_util::sync::CancellationToken;
