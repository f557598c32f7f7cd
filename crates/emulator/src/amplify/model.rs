//! Amplify apps, branches and jobs, and their rest-json shapes (`specs/amplify.md §1.3`).
//! Timestamps are epoch seconds as JSON numbers (§1.1).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::hosting::Site;

/// Job status (`JobStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created by CreateDeployment, not started.
    Created,
    /// Started, waiting.
    Pending,
    /// Deploying.
    Running,
    /// Live.
    Succeed,
    /// Failed.
    Failed,
    /// Stopped.
    Cancelled,
}

impl Status {
    /// The enum string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Succeed => "SUCCEED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }

    /// Whether the job still blocks new deployments on its branch (§3.2).
    pub fn unfinished(self) -> bool {
        matches!(self, Status::Created | Status::Pending | Status::Running)
    }
}

/// What unpacking the uploaded zip produced.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// Still unpacking.
    Working,
    /// Ready to serve.
    Ready(Arc<Site>),
    /// Unusable zip (reason).
    Broken(String),
}

/// A job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Numeric string.
    pub id: String,
    /// CreateDeployment time (unix ms).
    pub created_ms: u64,
    /// StartDeployment time (unix ms).
    pub start_ms: Option<u64>,
    /// End time (unix ms).
    pub end_ms: Option<u64>,
    /// Status (time-based transitions happen in `advance`).
    pub status: Status,
    /// Never advances (control API: a stuck PENDING job).
    pub stuck: bool,
    /// Where the zip was uploaded, if it was.
    pub zip: Option<PathBuf>,
    /// Unpacked result.
    pub artifact: Option<Artifact>,
    /// Why it failed.
    pub reason: Option<String>,
    /// The fileMap flavour's `(path, md5)` entries (empty for the zip flavour).
    pub file_map: Vec<(String, String)>,
}

/// A branch.
#[derive(Debug, Clone)]
pub struct Branch {
    /// Branch name (may contain `/`).
    pub name: String,
    /// DNS label used in the URL.
    pub display_name: String,
    /// `stage`.
    pub stage: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// Jobs, oldest first.
    pub jobs: Vec<Job>,
    /// Next job number.
    pub next_job: u64,
    /// Live site (the last SUCCEED job).
    pub site: Option<Arc<Site>>,
}

/// An app.
#[derive(Debug, Clone)]
pub struct AmpApp {
    /// `d…`.
    pub id: String,
    /// Name (not unique).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `platform`.
    pub platform: String,
    /// Creation time (unix ms).
    pub created_ms: u64,
    /// `customRules` as sent.
    pub custom_rules: Value,
    /// `environmentVariables`.
    pub env: Value,
    /// Branches by name.
    pub branches: BTreeMap<String, Branch>,
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The DNS label Amplify derives from a branch name (`feature/x` → `feature-x`).
pub fn display_name(branch: &str) -> String {
    branch
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `App` JSON.
pub fn app_json(a: &AmpApp, region: &str, account: &str) -> Value {
    let prod = a
        .branches
        .values()
        .find(|b| b.stage == "PRODUCTION")
        .map(|b| {
            let last = b.jobs.iter().rev().find(|j| !j.status.unfinished());
            json!({
                "branchName": b.name,
                "status": last.map(|j| j.status.as_str()).unwrap_or("PENDING"),
                "lastDeployTime": last.and_then(|j| j.end_ms).map(secs),
            })
        });
    let mut v = json!({
        "appId": a.id,
        "appArn": format!("arn:aws:amplify:{region}:{account}:apps/{}", a.id),
        "name": a.name,
        "description": a.description,
        "repository": "",
        "platform": a.platform,
        "createTime": secs(a.created_ms),
        "updateTime": secs(a.created_ms),
        "environmentVariables": a.env,
        "defaultDomain": format!("{}.amplifyapp.com", a.id),
        "enableBranchAutoBuild": false,
        "enableBranchAutoDeletion": false,
        "enableBasicAuth": false,
        "customRules": a.custom_rules,
        "tags": {},
    });
    if let Some(p) = prod {
        v["productionBranch"] = p;
    }
    v
}

/// `Branch` JSON.
pub fn branch_json(app_id: &str, b: &Branch, region: &str, account: &str) -> Value {
    let active = b
        .jobs
        .iter()
        .rev()
        .find(|j| j.status == Status::Succeed)
        .map(|j| j.id.clone());
    json!({
        "branchArn": format!("arn:aws:amplify:{region}:{account}:apps/{app_id}/branches/{}", crate::amplify::sigv4::uri_encode(&b.name, false)),
        "branchName": b.name,
        "description": "",
        "stage": b.stage,
        "displayName": b.display_name,
        "enableNotification": false,
        "createTime": secs(b.created_ms),
        "updateTime": secs(b.created_ms),
        "environmentVariables": {},
        "enableAutoBuild": false,
        "enableSkewProtection": false,
        "customDomains": [],
        "framework": "",
        "activeJobId": active.unwrap_or_else(|| "0".into()),
        "totalNumberOfJobs": b.jobs.len().to_string(),
        "enableBasicAuth": false,
        "enablePerformanceMode": false,
        "ttl": "5",
        "enablePullRequestPreview": false,
        "tags": {},
    })
}

/// `JobSummary` JSON.
pub fn summary_json(app_id: &str, branch: &str, j: &Job, region: &str, account: &str) -> Value {
    let mut v = json!({
        "jobArn": format!("arn:aws:amplify:{region}:{account}:apps/{app_id}/branches/{}/jobs/{}", crate::amplify::sigv4::uri_encode(branch, false), j.id),
        "jobId": j.id,
        "commitId": "HEAD",
        "commitMessage": "",
        "commitTime": secs(j.created_ms),
        "startTime": secs(j.start_ms.unwrap_or(j.created_ms)),
        "status": j.status.as_str(),
        "jobType": "MANUAL",
    });
    if let Some(e) = j.end_ms {
        v["endTime"] = json!(secs(e));
    }
    v
}

/// `Job` JSON with its single DEPLOY step.
pub fn job_json(app_id: &str, branch: &str, j: &Job, region: &str, account: &str) -> Value {
    let start = secs(j.start_ms.unwrap_or(j.created_ms));
    let mut step = json!({
        "stepName": "DEPLOY",
        "startTime": start,
        "endTime": j.end_ms.map(secs).unwrap_or(start),
        "status": j.status.as_str(),
        "logUrl": format!("https://aws-amplify-prod-{region}-artifacts.s3.{region}.amazonaws.com/{app_id}/{branch}/{}/DEPLOY.log", j.id),
    });
    if let Some(r) = &j.reason {
        step["statusReason"] = json!(r);
    }
    json!({"summary": summary_json(app_id, branch, j, region, account), "steps": [step]})
}
