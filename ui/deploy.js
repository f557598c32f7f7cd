// A deploy while it runs (steps, bar, counts, current file, elapsed time, Cancel) and how it
// ended (the live URL, or the problem with the next step).

import { h, icon } from './dom.js';
import { explain, ACTIONS } from './errors.js';
import { bytes, clock, duration, plural, timeOfDay } from './format.js';
import { livePanel } from './live.js';
import { platformName } from './platforms.js';
import { STEPS, stepStates, view } from './progress.js';
import { cancelRun } from './store.js';

/**
 * The panel for a run. `actions` maps next-step names (see errors.js ACTIONS) to handlers;
 * `onAgain` publishes again after a cancel. Returns `{ el, update(run), tick() }`.
 */
export function runPanel(run, actions = {}) {
  if (run.status === 'running') return runningPanel(run);
  const el = run.status === 'live' ? donePanel(run, actions) : problemPanel(run, actions);
  return { el, update() {}, tick() {} };
}

function runningPanel(run) {
  const where = platformName(run.platform);
  const title = run.label || `Publishing to ${where}`;
  const stepItems = STEPS.map((s) => h('li', { class: 'step' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', {}, s.label)));
  const bar = h('progress', { id: 'deploy-bar', max: 100, 'aria-label': 'Progress' });
  const phase = h('p', { class: 'phase', id: 'deploy-phase', 'aria-live': 'polite' });
  const counts = h('p', { class: 'counts', id: 'deploy-counts' });
  const current = h('p', { class: 'current mono', id: 'deploy-current' });
  const elapsed = h('span', { id: 'deploy-elapsed' });
  const warnings = h('ul', { class: 'warnings', id: 'deploy-warnings' });
  const cancel = h(
    'button',
    {
      class: 'btn',
      type: 'button',
      id: 'cancel-deploy',
      'data-focus': 'cancel-deploy',
      onclick: () => {
        cancel.disabled = true;
        cancel.textContent = 'Cancelling…';
        cancelRun(run);
      },
    },
    'Cancel',
  );
  const el = h(
    'section',
    { class: 'run running', id: 'deploy-progress', 'aria-labelledby': 'run-heading', 'aria-busy': 'true' },
    h('div', { class: 'run-head' }, h('h2', { id: 'run-heading' }, title), h('p', { class: 'muted' }, 'Elapsed ', elapsed)),
    h('ol', { class: 'steps', 'aria-label': 'Steps' }, stepItems),
    phase,
    bar,
    counts,
    current,
    warnings,
    run.kind === 'watch'
      ? h('p', { class: 'muted small', id: 'deploy-auto-note' }, 'Started by itself because files in the folder changed. To stop it, turn off “Keep this site up to date”.')
      : h('div', { class: 'row' }, cancel),
  );
  let shownWarnings = 0;
  const update = (r) => {
    const p = r.progress;
    const states = stepStates(p);
    stepItems.forEach((li, i) => {
      li.className = `step ${states[i]}`;
      if (states[i] === 'active') li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    const said = `${p.label}…`;
    if (phase.textContent !== said) phase.textContent = said; // Announced once per phase.
    const v = view(p);
    if (v.fraction == null) bar.removeAttribute('value');
    else bar.value = Math.round(v.fraction * 100);
    counts.textContent = v.counts;
    current.textContent = v.current ? v.current : '';
    current.title = v.current || '';
    for (; shownWarnings < p.warnings.length; shownWarnings += 1) {
      warnings.append(h('li', {}, icon('warn'), p.warnings[shownWarnings]));
    }
  };
  const tick = () => {
    elapsed.textContent = clock(Date.now() - run.started);
  };
  update(run);
  tick();
  return { el, update, tick };
}

const DONE_TITLE = {
  deploy: 'Your site is live',
  rollback: 'The earlier version is live again',
  watch: 'Your changes are live (published automatically)',
};

function donePanel(run, actions) {
  const o = run.outcome;
  if (o.status === 'unchanged') return unchangedPanel(run, actions);
  const sent = o.uploaded === 0
    ? 'nothing new to upload'
    : `${plural(o.uploaded, 'file')} uploaded (${bytes(o.bytes_uploaded)})`;
  const summary = run.kind === 'rollback'
    ? `Switched back in ${duration(o.duration_ms)}.`
    : `${plural(o.files, 'file')} published, ${sent}, in ${duration(o.duration_ms)}.${o.unchanged ? ' Nothing had changed since the last publish.' : ''}`;
  return h(
    'section',
    { class: 'run done', id: 'deploy-result', 'aria-labelledby': 'done-heading' },
    h('h2', { id: 'done-heading', class: 'done-title', tabindex: '-1' }, icon('check'), DONE_TITLE[run.kind] || DONE_TITLE.deploy),
    h('p', { class: 'muted', id: 'deploy-summary' }, summary),
    livePanel({ url: o.production_url || o.url, platform: o.platform, note: o.note, claimUrl: o.claim_url, heading: 'Address' }),
    o.held_back && o.held_back.length
      ? h('p', { class: 'muted small' }, `Not published because they may be secret: ${o.held_back.join(', ')}.`)
      : null,
    o.warnings && o.warnings.length ? h('ul', { class: 'warnings' }, o.warnings.map((w) => h('li', {}, icon('warn'), w))) : null,
  );
}

/**
 * The folder was exactly what the site already serves, on a platform that would have taken
 * every file again (Amplify): nothing was sent. The person may still want a new deployment.
 */
function unchangedPanel(run, actions) {
  const o = run.outcome;
  return h(
    'section',
    { class: 'run done', id: 'deploy-result', 'data-status': 'unchanged', 'aria-labelledby': 'done-heading' },
    h('h2', { id: 'done-heading', class: 'done-title', tabindex: '-1' }, icon('check'), 'Nothing changed'),
    h('p', { class: 'muted', id: 'deploy-summary' }, o.note || 'The site already serves exactly these files, so nothing was sent.'),
    livePanel({ url: o.production_url || o.url, platform: o.platform, heading: 'Address' }),
    actions.publishAnyway
      ? h('div', { class: 'row' }, h('button', { class: 'btn', type: 'button', id: 'publish-anyway', 'data-focus': 'publish-anyway', onclick: actions.publishAnyway }, 'Publish anyway'))
      : null,
  );
}

function problemPanel(run, actions) {
  const info = explain(run.error, platformName(run.platform));
  const buttons = info.actions
    .filter((a) => actions[a])
    .map((a, i) => h('button', { class: i === 0 ? 'btn btn-primary' : 'btn', type: 'button', 'data-action': a, 'data-focus': `action-${a}`, onclick: actions[a] }, ACTIONS[a]));
  return h(
    'section',
    { class: `run problem ${run.status}`, id: 'deploy-error', role: 'alert', 'aria-labelledby': 'problem-heading', 'data-kind': info.kind },
    h('h2', { id: 'problem-heading', tabindex: '-1' }, icon(run.status === 'cancelled' ? 'info' : 'warn'), info.title),
    h('p', { class: 'problem-message' }, info.message),
    run.kind === 'watch'
      ? h('p', { class: 'muted small' }, 'This was an automatic publish, started because files changed. Sitedrop keeps watching and tries again at the next change.')
      : null,
    info.waitUntil ? h('p', { class: 'muted small' }, `That is ${timeOfDay(info.waitUntil)} your time.`) : null,
    buttons.length ? h('div', { class: 'row' }, buttons) : null,
  );
}

/** Brings a run panel into view and puts keyboard focus in it (Cancel, or the outcome's title). */
export function focusPanel(el) {
  const target = el.querySelector('#cancel-deploy') || el.querySelector('h2[tabindex]');
  el.scrollIntoView({ block: 'nearest' });
  if (target) target.focus({ preventScroll: true });
}

/** The same problem box for errors outside a run (connecting, opening a folder). */
export function problemBox(error, platform, actions = {}) {
  return problemPanel({ error, platform, status: 'failed' }, actions);
}
