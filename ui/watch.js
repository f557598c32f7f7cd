// Watched sites as the page shows them: the words for a watch's status, and automatic
// publishes folded into the same "run" shape a manual deploy has, so the site view shows their
// progress and outcome with the same panels. Pure: unit-tested in ui/tests/watch.test.js.
//
// The app sends `{ status, event }` on `watch://update` (status: `{ site_id, state, reason,
// pending, resumes_by_itself, seq }`, state one of starting | watching | changed | deploying | paused; event: the
// engine's watch event, tagged by `event`) and `{ site_id, progress }` on `watch://progress`.

import { initial, reduce } from './progress.js';

/**
 * What a watch's status looks like: `tone` (off | watching | busy | paused) for colour,
 * `text` for the status line, `short` for the sidebar, and when paused the `reason` and
 * whether a Resume button helps (`canResume`).
 */
export function describeWatch(status) {
  if (!status) return { tone: 'off', text: 'Off', short: null, reason: null };
  switch (status.state) {
    case 'starting':
      return { tone: 'watching', text: 'Starting to watch the folder…', short: 'watching', reason: null };
    case 'watching':
      return { tone: 'watching', text: 'Watching: changes to the folder are published automatically.', short: 'watching', reason: null };
    case 'changed':
      return { tone: 'busy', text: 'Changes seen, publishing soon…', short: 'changes seen', reason: null };
    case 'deploying':
      return {
        tone: 'busy',
        text: status.pending ? 'Publishing your changes… More changes came in; they follow next.' : 'Publishing your changes…',
        short: 'publishing changes',
        reason: null,
      };
    case 'paused':
      // A vanished folder is waited for; anything else needs a person, then Resume.
      return { tone: 'paused', text: 'Paused', short: 'watching paused', reason: status.reason || 'Watching stopped.', canResume: !status.resumes_by_itself };
    default:
      return { tone: 'watching', text: 'Watching', short: 'watching', reason: null };
  }
}

/** The newer of two statuses of one site (`seq` orders them; events and snapshots race). */
export function newer(known, incoming) {
  return !known || incoming.seq >= known.seq ? incoming : known;
}

/**
 * The page's statuses (a Map by site id) after an `overview` snapshot `{ statuses, seq }`:
 * a status the page heard of after the snapshot was taken is kept; a site missing from the
 * snapshot is no longer watched unless the page heard of it since.
 */
export function mergeSnapshot(known, snapshot) {
  const merged = new Map();
  for (const status of (snapshot && snapshot.statuses) || []) {
    merged.set(status.site_id, newer(known.get(status.site_id), status));
  }
  const taken = (snapshot && snapshot.seq) || 0;
  for (const [id, status] of known) {
    if (!merged.has(id) && status.seq > taken) merged.set(id, status);
  }
  return merged;
}

/** A new automatic run for `site`, as `startRun` in store.js shapes manual ones. */
export function autoRun(site, key, now) {
  return {
    key,
    folder: site.folder,
    platform: site.platform,
    kind: 'watch',
    label: 'Publishing your changes (automatic)',
    started: now,
    finished: null,
    status: 'running',
    progress: initial(),
    outcome: null,
    error: null,
    ticket: null,
  };
}

const isManualRunning = (run) => run && run.status === 'running' && run.kind !== 'watch';

/**
 * The site's run after a watch event: `deploying` starts an automatic run, `deployed` and
 * `failed` finish it, a pause drops one still running (the engine stops following it).
 * A manual deploy or rollback in progress is never replaced. Returns `prev` when nothing
 * changes, `null` to remove the run.
 */
export function foldWatchEvent(prev, event, { site, key, now }) {
  if (!event || isManualRunning(prev)) return prev;
  const running = prev && prev.kind === 'watch' && prev.status === 'running' ? prev : null;
  switch (event.event) {
    case 'deploying':
      return autoRun(site, key, now);
    case 'deployed': {
      const run = running || autoRun(site, key, now);
      return { ...run, status: 'live', outcome: event.outcome, finished: now };
    }
    case 'failed': {
      const run = running || autoRun(site, key, now);
      const status = event.kind === 'cancelled' ? 'cancelled' : 'failed';
      return { ...run, status, error: { kind: event.kind, message: event.message }, finished: now };
    }
    case 'paused':
    case 'stopped':
      return running ? null : prev;
    default:
      return prev;
  }
}

/**
 * The site's run after an automatic publish's progress event: folded into the running
 * automatic run, or into a new one if its start was missed (the page reloaded meanwhile).
 */
export function foldWatchProgress(prev, progress, { site, key, now }) {
  if (isManualRunning(prev)) return prev;
  const run = prev && prev.kind === 'watch' && prev.status === 'running' ? prev : autoRun(site, key, now);
  return { ...run, progress: reduce(run.progress, progress) };
}

/** True when a watch event means the history has a new or finished row to show. */
export function changesHistory(event) {
  return !!event && ['deployed', 'failed'].includes(event.event);
}
