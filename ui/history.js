// A site's deploys, newest first: when, how it went, how long, how much, where (or what went
// wrong), and "make this live again" on earlier live deploys.

import { api } from './api.js';
import { fill, h } from './dom.js';
import { ago, bytes, duration } from './format.js';

const STATUS = {
  live: 'Live',
  running: 'Publishing',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
  unchanged: 'No change',
};

/** How a deploy that nobody started by hand is marked. */
const TRIGGER_TAG = {
  rollback: { text: 'rollback', title: 'An earlier deploy made live again' },
  watch: { text: 'automatic', title: 'Published by itself because files in the folder changed' },
};

/** Loads and renders the history of `site` into a section; `onRollback(record)` rolls back. */
export function historySection(site, { onRollback, busy }) {
  const body = h('div', { class: 'history-body' }, h('p', { class: 'muted' }, 'Loading the history…'));
  const section = h('section', { class: 'history', 'aria-labelledby': 'history-heading' }, h('h2', { id: 'history-heading', class: 'section-title' }, 'Deploys'), body);
  api
    .siteHistory(site.id)
    .then((rows) => fill(body, rows.length ? table(rows, site, onRollback, busy) : h('p', { class: 'muted' }, 'No deploys yet.')))
    .catch((e) => fill(body, h('p', { class: 'muted' }, e.message || 'The history could not be read.')));
  return section;
}

function table(rows, site, onRollback, busy) {
  const liveNow = site.live ? site.live.id : null;
  return h(
    'table',
    { class: 'history-table', id: 'history-table' },
    h('caption', { class: 'sr-only' }, 'Deploys of this site, newest first'),
    h('thead', {}, h('tr', {}, ['When', 'Status', 'Took', 'Files', 'Sent', 'Address or problem', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      rows.map((r) => {
        const canRollBack = r.status === 'live' && r.remote_id && r.environment === 'production' && r.id !== liveNow;
        const when = new Date(r.started_at);
        return h(
          'tr',
          { class: `history-row status-${r.status}`, dataset: { id: String(r.id), status: r.status, trigger: r.trigger } },
          h('td', {}, h('time', { datetime: when.toISOString(), title: when.toLocaleString() }, ago(r.started_at)), TRIGGER_TAG[r.trigger] ? h('span', { class: 'tag', title: TRIGGER_TAG[r.trigger].title }, TRIGGER_TAG[r.trigger].text) : null, r.environment === 'preview' ? h('span', { class: 'tag' }, 'preview') : null),
          h('td', {}, h('span', { class: `pill pill-${r.status}` }, STATUS[r.status] || r.status), r.id === liveNow ? h('span', { class: 'tag tag-now' }, 'now') : null),
          h('td', {}, duration(r.duration_ms)),
          h('td', { class: 'num' }, r.files_total ? r.files_total.toLocaleString('en') : '–'),
          h('td', { class: 'num' }, r.files_total ? bytes(r.bytes_uploaded) : '–'),
          h('td', { class: 'detail' }, r.error_message ? h('span', { class: 'error-text' }, r.error_message) : r.url ? h('button', { class: 'link mono small', type: 'button', onclick: () => api.openUrl(r.url) }, r.url) : ''),
          h('td', {}, canRollBack ? h('button', { class: 'btn btn-small', type: 'button', disabled: busy, 'data-focus': `rollback-${r.id}`, onclick: () => onRollback(r) }, 'Make live again') : null),
        );
      }),
    ),
  );
}
