// The page's state: what the engine knows (sites, accounts), where the person is, and the
// deploys running now. Views read it and call the actions below; `subscribe` re-renders.

import { api } from './api.js';
import { normalize } from './errors.js';
import { initial, reduce } from './progress.js';
import { changesHistory, foldWatchEvent, foldWatchProgress, mergeSnapshot, newer } from './watch.js';

export const state = {
  overview: { sites: [], accounts: [], local: { port: 0, serving: false, error: null } },
  loaded: false,
  /** `{ name: 'welcome' }`, `{ name: 'folder', folder }`, `{ name: 'site', siteId }`, `{ name: 'accounts' }`. */
  view: { name: 'welcome' },
  /** A problem to show above the current view: `{ error, context }`. */
  notice: null,
  /** Deploys and rollbacks by site key (`folder|platform`), running or just finished. */
  runs: new Map(),
  /** What each watched site's watch is doing, by site id (see watch.js). */
  watches: new Map(),
  /** The app's settings (`notify_watch_success`). */
  settings: { notify_watch_success: false },
};

const listeners = { change: new Set(), progress: new Set() };

export function subscribe(kind, fn) {
  listeners[kind].add(fn);
  return () => listeners[kind].delete(fn);
}

function emit(kind, arg) {
  for (const fn of listeners[kind]) fn(arg);
}

export const changed = () => emit('change');

export function siteKey(folder, platform) {
  return `${folder}|${platform}`;
}

export function siteById(id) {
  return state.overview.sites.find((s) => s.id === id) || null;
}

export async function refresh() {
  try {
    state.overview = await api.overview();
    state.watches = mergeSnapshot(state.watches, state.overview.watches);
    state.settings = state.overview.settings || state.settings;
    state.loaded = true;
  } catch (e) {
    state.notice = { error: normalize(e), context: 'start' };
  }
  changed();
}

export function go(view) {
  state.view = view;
  state.notice = null;
  changed();
}

export function showNotice(error, context) {
  state.notice = { error: normalize(error), context };
  changed();
}

/** The folder that was dropped or chosen: checked by the app (is it a folder?), then shown. */
export async function openFolder(path) {
  try {
    const folder = await api.openFolder(path);
    go({ name: 'folder', folder, choice: null });
  } catch (e) {
    state.notice = { error: normalize(e), context: 'folder', path };
    state.view = { name: 'welcome' };
    changed();
  }
}

/**
 * Starts a deploy (or a rollback) and keeps its progress in `state.runs`. Resolves with the
 * finished run; never throws (a failure is recorded on the run).
 */
export async function startRun({ folder, platform, kind = 'deploy', request, deploymentId, label }) {
  const key = siteKey(folder, platform);
  const run = {
    key, folder, platform, kind, label,
    started: Date.now(), finished: null,
    status: 'running', progress: initial(), outcome: null, error: null, ticket: null,
  };
  const onEvent = (event) => {
    run.progress = reduce(run.progress, event);
    emit('progress', run);
  };
  const started = kind === 'rollback' ? api.rollback(deploymentId, onEvent) : api.deploy(request, onEvent);
  run.ticket = started.ticket;
  state.runs.set(key, run);
  changed();
  try {
    run.outcome = await started.done;
    run.status = 'live';
  } catch (e) {
    run.error = normalize(e);
    run.status = run.error.kind === 'cancelled' ? 'cancelled' : 'failed';
  }
  run.finished = Date.now();
  await refresh();
  return run;
}

export function cancelRun(run) {
  if (run && run.status === 'running' && run.ticket) api.cancel(run.ticket);
}

export function runFor(folder, platform) {
  return state.runs.get(siteKey(folder, platform)) || null;
}

export function anyRunning() {
  return [...state.runs.values()].some((r) => r.status === 'running');
}

export function watchOf(siteId) {
  return state.watches.get(siteId) || null;
}

/** Turns watching a site on (or resumes it) or off. Throws `{ kind, message }` on failure. */
export async function setWatch(siteId, on) {
  const status = await api.setSiteWatch(siteId, on);
  if (status) state.watches.set(siteId, newer(state.watches.get(siteId), status));
  else state.watches.delete(siteId);
  await refresh();
}

export async function saveSettings(settings) {
  state.settings = await api.saveSettings({ ...state.settings, ...settings });
  changed();
}

/** A watch's news from the app (`watch://update`). */
export function onWatchUpdate({ status, event }) {
  state.watches.set(status.site_id, newer(state.watches.get(status.site_id), status));
  const site = siteById(status.site_id);
  if (site) {
    const key = siteKey(site.folder, site.platform);
    const prev = state.runs.get(key) || null;
    const next = foldWatchEvent(prev, event, { site, key, now: Date.now() });
    if (next === null) state.runs.delete(key);
    else if (next !== prev) state.runs.set(key, next);
  }
  changed();
  if (!site || changesHistory(event)) refresh();
}

/** The progress of an automatic publish (`watch://progress`). */
export function onWatchProgress({ site_id: siteId, progress }) {
  const site = siteById(siteId);
  if (!site) return;
  const key = siteKey(site.folder, site.platform);
  const prev = state.runs.get(key) || null;
  const next = foldWatchProgress(prev, progress, { site, key, now: Date.now() });
  if (next === prev) return;
  if (prev && prev.kind === 'watch' && prev.status === 'running') {
    // The panel on screen follows this run object: update it in place, as manual runs are.
    prev.progress = next.progress;
    emit('progress', prev);
    return;
  }
  state.runs.set(key, next);
  changed();
}
