//! What the shell keeps between commands: the engine, the cancel handles of running deploys,
//! the watched sites and the app's settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sitedrop_core::watch_registry::Watches;
use sitedrop_core::{CancellationToken, Engine};

use crate::error::{AppError, AppResult};
use crate::settings::{self, Settings};

/// The managed state every command receives.
pub struct AppState {
    /// The engine, or why it could not open (the page shows that sentence instead of a crash).
    engine: Result<Engine, AppError>,
    /// Cancel handles of running deploys and rollbacks, by the ticket the page chose.
    running: Mutex<HashMap<String, CancellationToken>>,
    /// Whether "this computer" sites are being served, and if not, why.
    local: Mutex<LocalStatus>,
    /// The running watches, by site.
    pub watches: Arc<Watches>,
    /// The person's choices, kept in the data folder next to the history.
    settings: Mutex<Settings>,
}

/// How "this computer" sites are served.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LocalStatus {
    pub port: u16,
    /// This app serves them (false while starting, or when another Sitedrop does).
    pub serving: bool,
    pub error: Option<AppError>,
}

impl AppState {
    pub fn new(engine: Result<Engine, AppError>) -> AppState {
        let port = engine.as_ref().map(|e| e.env().local_port()).unwrap_or(0);
        let settings = engine
            .as_ref()
            .map(|e| settings::load(e.data_dir()))
            .unwrap_or_default();
        AppState {
            engine,
            running: Mutex::default(),
            local: Mutex::new(LocalStatus {
                port,
                ..LocalStatus::default()
            }),
            watches: Arc::default(),
            settings: Mutex::new(settings),
        }
    }

    pub fn engine(&self) -> AppResult<&Engine> {
        self.engine.as_ref().map_err(Clone::clone)
    }

    /// Registers a running deploy under `ticket`; the guard unregisters it when dropped. A
    /// Cancel that arrived first (the page sends it as soon as the deploy is asked for) is kept.
    pub fn start(&self, ticket: &str) -> Running<'_> {
        let token = lock(&self.running)
            .entry(ticket.to_string())
            .or_default()
            .clone();
        Running {
            state: self,
            ticket: ticket.to_string(),
            token,
        }
    }

    /// Cancels the deploy registered under `ticket`, or the one about to start with it.
    pub fn cancel(&self, ticket: &str) {
        lock(&self.running)
            .entry(ticket.to_string())
            .or_default()
            .cancel();
    }

    pub fn any_running(&self) -> bool {
        lock(&self.running).values().any(|t| !t.is_cancelled())
    }

    pub fn local(&self) -> LocalStatus {
        lock(&self.local).clone()
    }

    pub fn set_local(&self, serving: bool, error: Option<AppError>) {
        let mut local = lock(&self.local);
        local.serving = serving;
        local.error = error;
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Keeps new settings, on disk first: what the page shows is what is saved.
    pub fn save_settings(&self, new: Settings) -> AppResult<Settings> {
        settings::save(self.engine()?.data_dir(), &new)?;
        *lock(&self.settings) = new.clone();
        Ok(new)
    }
}

/// A deploy registered in [`AppState`]; unregisters on drop.
pub struct Running<'a> {
    state: &'a AppState,
    ticket: String,
    pub token: CancellationToken,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        lock(&self.state.running).remove(&self.ticket);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitedrop_core::error::ErrorKind;

    fn state() -> AppState {
        AppState::new(Err(AppError::new(
            ErrorKind::Invalid,
            "no engine in this test",
        )))
    }

    #[test]
    fn a_cancel_reaches_the_deploy_it_names() {
        let state = state();
        let run = state.start("a");
        assert!(state.any_running());
        state.cancel("a");
        assert!(run.token.is_cancelled());
        drop(run);
        assert!(!state.any_running());
    }

    #[test]
    fn a_cancel_that_arrives_before_the_deploy_starts_still_counts() {
        let state = state();
        state.cancel("early");
        assert!(state.start("early").token.is_cancelled());
    }
}
