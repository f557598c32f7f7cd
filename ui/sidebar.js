// The sidebar: add a folder, the remembered sites with how their last deploy went, accounts.

import { fill, h } from './dom.js';
import { ago, baseName } from './format.js';
import { platformName } from './platforms.js';
import { go, runFor, state, watchOf } from './store.js';
import { describeWatch } from './watch.js';

export function renderSidebar(list) {
  const sites = state.overview.sites;
  if (!sites.length) {
    fill(list, h('li', { class: 'muted small empty' }, 'Sites you publish appear here.'));
    return;
  }
  fill(list, 
    ...sites.map((site) => {
      const run = runFor(site.folder, site.platform);
      const current = state.view.name === 'site' && state.view.siteId === site.id;
      const [status, text] = siteStatus(site, run);
      const watch = describeWatch(watchOf(site.id));
      return h(
        'li',
        {},
        h(
          'button',
          {
            class: 'site-link',
            type: 'button',
            'aria-current': current ? 'page' : null,
            'data-focus': `site-${site.id}`,
            dataset: { siteId: String(site.id) },
            onclick: () => go({ name: 'site', siteId: site.id }),
          },
          h('span', { class: `dot dot-${watch.tone === 'paused' ? 'paused' : status}`, 'aria-hidden': 'true' }),
          h(
            'span',
            { class: 'site-text' },
            h('span', { class: 'site-name' }, baseName(site.folder)),
            h('span', { class: 'site-meta' }, `${platformName(site.platform)} · ${text}`),
            watch.short ? h('span', { class: `site-watch tone-${watch.tone}`, dataset: { watch: watch.tone } }, watch.short) : null,
          ),
        ),
      );
    }),
  );
}

function siteStatus(site, run) {
  if (run && run.status === 'running') return ['running', 'publishing…'];
  const last = site.last;
  if (!last) return ['none', 'not published yet'];
  if (last.status === 'live') return ['live', `live, ${ago(last.finished_at || last.started_at)}`];
  if (last.status === 'running') return ['running', 'publishing…'];
  return [last.status, `${last.status}, ${ago(last.started_at)}`];
}
