//! stub
use std::sync::Arc;
use axum::response::Response;
use serde_json::Value;
use crate::config::Config;
use crate::hosting::Site;
use crate::util::req::Req;
use crate::App;

/// State.
#[derive(Debug)]
pub struct State;
impl State {
    /// New.
    pub fn new(_c: &Config) -> Self { State }
    /// Reset.
    pub fn reset(&self, _c: &Config) {}
    /// Take.
    pub fn take_name(&self, _n: &str) {}
    /// Dump.
    pub fn dump(&self, _a: &App) -> Value { Value::Null }
    /// Resolve.
    pub fn resolve_host(&self, _a: &App, _h: &str) -> Option<Arc<Site>> { None }
}
/// Handle.
pub async fn handle(_app: &Arc<App>, req: Req) -> Response { crate::control::not_found(&req.path) }
