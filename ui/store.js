// The page's state: what the engine knows (sites, accounts), where the person is, and the
// deploys running now. Views read it and call the actions below; `subscribe` re-renders.

import { api } from './api.js';
import { normalize } from './errors.js';
import { initial, reduce } from './progress.js';

export const state = {
  overview: { sites: [], accounts: [], local: { port: 0, serving: false, error: null } },
  loaded: false,
  /** `{ name: 'welcome' }`, `{ name: 'folder', folder }`, `{ name: 'site', siteId }`, `{ name: 'accounts' }`. */
  view: { name: 'welcome' },
  /** A problem to show above the current view: `{ error, context }`. */
  notice: null,
  /** Deploys and rollbacks by site key (`folder|platform`), running or just finished. */
  runs: new Map(),
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
