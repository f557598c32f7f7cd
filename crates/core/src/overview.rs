//! The sites as a face lists them: each site with its latest deploy and the one it serves now.
//!
//! The desktop app's sidebar and the sites list need both in one call; asking the history per
//! site from the face would put SQL-shaped loops in the shell.

use serde::Serialize;

use crate::engine::Engine;
use crate::error::Result;
use crate::history::{DeploymentRecord, Site};

/// A site with what a person wants to see at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSummary {
    #[serde(flatten)]
    pub site: Site,
    /// The newest deploy, whatever its status (running, live, failed, …).
    pub last: Option<DeploymentRecord>,
    /// The live production deploy the site serves now, when the history knows it.
    pub live: Option<DeploymentRecord>,
}

impl Engine {
    /// Every site, most recently deployed first, with its latest and current deploys.
    pub fn site_summaries(&self) -> Result<Vec<SiteSummary>> {
        let history = self.history();
        history
            .sites()?
            .into_iter()
            .map(|site| {
                let last = history.deployments(Some(site.id), 1)?.into_iter().next();
                let live = history.current_production(site.id)?;
                Ok(SiteSummary { site, last, live })
            })
            .collect()
    }

    /// True when any site has watching turned on (the app then stays in the tray when its
    /// window is closed).
    pub fn any_site_watched(&self) -> Result<bool> {
        Ok(self.history().sites()?.iter().any(|s| s.watch))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Env;
    use crate::secrets::MemoryKeychain;
    use crate::{EngineConfig, Platform};

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::open(EngineConfig {
            env: Env::default(),
            data_dir: Some(dir.to_path_buf()),
            secrets: Arc::new(MemoryKeychain::default()),
            retry: Default::default(),
        })
        .unwrap()
    }

    #[test]
    fn a_site_without_deploys_has_no_last_or_live() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let site = engine
            .history()
            .site_for(dir.path(), Platform::Local)
            .unwrap();
        let summaries = engine.site_summaries().unwrap();
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].site.id, site.id);
        assert!(summaries[0].last.is_none() && summaries[0].live.is_none());
        assert!(!engine.any_site_watched().unwrap());
        engine.history().set_site_watch(site.id, true).unwrap();
        assert!(engine.any_site_watched().unwrap());
    }
}
