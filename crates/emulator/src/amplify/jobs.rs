//! CreateDeployment, StartDeployment, GetJob, ListJobs, StopJob (`specs/amplify.md §1.2`,
//! §1.3, §3.2): the job lifecycle and the branch-blocking rule for unfinished jobs.

use std::sync::Arc;

use serde_json::{json, Value};

use super::apps::{app_not_found as app_missing, branch_not_found as branch_missing};
use super::error::{AwsError, AwsResult};
use super::model::{job_json, summary_json, Artifact, Job, Status};
use super::{advance, ok, page, upload};
use crate::util::req::Req;
use crate::util::time::now_ms;
use crate::App;

fn job_missing(j: &str) -> AwsError {
    AwsError::not_found(format!("Job {j} not found."))
}

/// `POST …/deployments` with `{}` or `{"fileMap": {path: md5}}`.
pub fn create_deployment(app: &App, id: &str, b: &str, body: &Value) -> AwsResult {
    let file_map: Vec<(String, String)> = match body.get("fileMap") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => {
            let mut v = Vec::new();
            for (k, md5) in m {
                let md5 = md5.as_str().unwrap_or("");
                if k.len() > 255 || md5.len() > 32 {
                    return Err(AwsError::bad_request(
                        "fileMap keys must be at most 255 characters and values at most 32.",
                    ));
                }
                v.push((
                    k.trim_start_matches('/').to_string(),
                    md5.to_ascii_lowercase(),
                ));
            }
            v
        }
        Some(_) => return Err(AwsError::bad_request("fileMap must be a map.")),
    };
    let mut g = app.amplify.lock();
    advance(&mut g, now_ms(), &app.knobs());
    let a = g.apps.get_mut(id).ok_or_else(|| app_missing(id))?;
    let br = a.branches.get_mut(b).ok_or_else(|| branch_missing(b))?;
    if let Some(j) = br.jobs.iter().rev().find(|j| j.status.unfinished()) {
        return Err(AwsError::bad_request(format!(
            "The last job(deployment) {} was not finished, please wait until it finish or use StopJob operation to cancel it before creating a new deployment.",
            j.id
        )));
    }
    br.next_job += 1;
    let job_id = br.next_job.to_string();
    let now = now_ms();
    br.jobs.push(Job {
        id: job_id.clone(),
        created_ms: now,
        start_ms: None,
        end_ms: None,
        status: Status::Created,
        stuck: false,
        zip: None,
        artifact: None,
        reason: None,
        file_map: file_map.clone(),
    });
    drop(g);
    let zip_url = upload::presign(app, id, b, &job_id, "deployment.zip");
    let files: serde_json::Map<String, Value> = file_map
        .iter()
        .map(|(k, _)| {
            (
                k.clone(),
                json!(upload::presign(
                    app,
                    id,
                    b,
                    &job_id,
                    &format!("files/{}", super::sigv4::uri_encode(k, true))
                )),
            )
        })
        .collect();
    ok(json!({"jobId": job_id, "zipUploadUrl": zip_url, "fileUploadUrls": files}))
}

/// `POST …/deployments/start` with `{"jobId"}`.
pub async fn start_deployment(app: &Arc<App>, id: &str, b: &str, body: &Value) -> AwsResult {
    let Some(job_id) = body["jobId"].as_str().map(str::to_string) else {
        if body["sourceUrl"].is_string() {
            return Err(AwsError::bad_request("Deploying from a sourceUrl needs network access, which the emulator does not have; use CreateDeployment and the upload URL."));
        }
        return Err(AwsError::bad_request(
            "Must specify jobId or sourceUrl for StartDeploymentRequest.",
        ));
    };
    let knobs = app.knobs();
    let now = now_ms();
    let (summary, zip) = {
        let mut g = app.amplify.lock();
        advance(&mut g, now, &knobs);
        let a = g.apps.get_mut(id).ok_or_else(|| app_missing(id))?;
        let br = a.branches.get_mut(b).ok_or_else(|| branch_missing(b))?;
        let j = br
            .jobs
            .iter_mut()
            .find(|j| j.id == job_id)
            .ok_or_else(|| job_missing(&job_id))?;
        if j.status != Status::Created {
            return Err(AwsError::bad_request(format!(
                "Job {job_id} has already been started."
            )));
        }
        j.start_ms = Some(now);
        let mut zip = None;
        if now.saturating_sub(j.created_ms) > knobs.amplify_start_window_secs * 1000 {
            j.status = Status::Failed;
            j.end_ms = Some(now);
            j.reason =
                Some("StartDeployment was called more than 8 hours after CreateDeployment.".into());
        } else {
            j.status = Status::Pending;
            j.artifact = Some(Artifact::Working);
            zip = Some(j.zip.clone());
        }
        let (r, acc) = (&app.config.aws_region, &app.config.aws_account_id);
        (summary_json(id, b, j, r, acc), zip)
    };
    if let Some(zip) = zip {
        let (app2, id, b, job) = (app.clone(), id.to_string(), b.to_string(), job_id.clone());
        tokio::spawn(async move { upload::unpack(app2, id, b, job, zip).await });
    }
    ok(json!({"jobSummary": summary}))
}

/// `GET …/jobs/{jobId}`.
pub fn get_job(app: &App, id: &str, b: &str, job_id: &str) -> AwsResult {
    let mut g = app.amplify.lock();
    advance(&mut g, now_ms(), &app.knobs());
    let a = g.apps.get(id).ok_or_else(|| app_missing(id))?;
    let br = a.branches.get(b).ok_or_else(|| branch_missing(b))?;
    let j = br
        .jobs
        .iter()
        .find(|j| j.id == job_id)
        .ok_or_else(|| job_missing(job_id))?;
    ok(json!({"job": job_json(id, b, j, &app.config.aws_region, &app.config.aws_account_id)}))
}

/// `GET …/jobs`, newest first.
pub fn list_jobs(app: &App, id: &str, b: &str, req: &Req) -> AwsResult {
    let (start, size) = page(req, 50)?;
    let mut g = app.amplify.lock();
    advance(&mut g, now_ms(), &app.knobs());
    let a = g.apps.get(id).ok_or_else(|| app_missing(id))?;
    let br = a.branches.get(b).ok_or_else(|| branch_missing(b))?;
    let all: Vec<Value> = br
        .jobs
        .iter()
        .rev()
        .map(|j| summary_json(id, b, j, &app.config.aws_region, &app.config.aws_account_id))
        .collect();
    let next = (start + size < all.len()).then(|| (start + size).to_string());
    let items: Vec<Value> = all.into_iter().skip(start).take(size).collect();
    ok(json!({"jobSummaries": items, "nextToken": next}))
}

/// `DELETE …/jobs/{jobId}/stop`.
pub fn stop_job(app: &App, id: &str, b: &str, job_id: &str) -> AwsResult {
    let mut g = app.amplify.lock();
    let now = now_ms();
    advance(&mut g, now, &app.knobs());
    let a = g.apps.get_mut(id).ok_or_else(|| app_missing(id))?;
    let br = a.branches.get_mut(b).ok_or_else(|| branch_missing(b))?;
    let j = br
        .jobs
        .iter_mut()
        .find(|j| j.id == job_id)
        .ok_or_else(|| job_missing(job_id))?;
    if !j.status.unfinished() {
        return Err(AwsError::bad_request(format!(
            "Job {job_id} is already finished with status {}.",
            j.status.as_str()
        )));
    }
    j.status = Status::Cancelled;
    j.stuck = false;
    j.end_ms = Some(now);
    ok(
        json!({"jobSummary": summary_json(id, b, j, &app.config.aws_region, &app.config.aws_account_id)}),
    )
}
