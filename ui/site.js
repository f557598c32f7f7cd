// One remembered site: where it lives, publish again, keep it up to date (watching), the
// deploy in progress or just done, and its history with rollback.

import { api } from './api.js';
import { focusPanel, runPanel } from './deploy.js';
import { fill, h } from './dom.js';
import { baseName } from './format.js';
import { historySection } from './history.js';
import { livePanel } from './live.js';
import { platformName } from './platforms.js';
import { go, refresh, runFor, siteById, startRun, state } from './store.js';
import { watchSection } from './watch-section.js';

export function siteView(main, v) {
  let panel = null;
  let watch = null;
  let lastSig = '';

  function render() {
    const follow = v.follow && document.activeElement && main.contains(document.activeElement);
    const site = siteById(v.siteId);
    if (!site) {
      fill(main, h('p', { class: 'muted' }, 'This site is no longer remembered.'));
      return;
    }
    const run = runFor(site.folder, site.platform);
    const running = run && run.status === 'running';
    lastSig = signature(site, run);
    const anonymous = site.platform === 'netlify' && !state.overview.accounts.some((a) => a.platform === 'netlify');
    const where = anonymous ? 'Netlify, no account' : platformName(site.platform);
    const again = h('button', { class: 'btn btn-primary', type: 'button', id: 'redeploy', 'data-focus': 'redeploy', disabled: running, onclick: () => redeploy(site) }, running ? 'Publishing…' : 'Publish again');
    const forget = forgetControl(site);
    panel = run ? { ...runPanel(run, actions(site)), run, status: run.status } : null;
    const live = site.url || (site.live && site.live.url);
    watch = watchSection(site);
    fill(main, 
      h(
        'header',
        { class: 'view-head' },
        h('p', { class: 'eyebrow' }, where),
        h('h1', { tabindex: '-1', id: 'view-title' }, baseName(site.folder)),
        h('p', { class: 'muted mono small path', title: site.folder }, site.folder),
        site.project && site.platform !== 'local' ? h('p', { class: 'muted small' }, `Called “${site.project}” on ${platformName(site.platform)}.`) : null,
      ),
      panel ? panel.el : null,
      !panel || panel.status !== 'live' ? (live ? livePanel({ url: live, platform: site.platform }) : h('p', { class: 'muted' }, 'Not live yet.')) : null,
      h('div', { class: 'row actions' }, again, h('button', { class: 'btn', type: 'button', onclick: () => go({ name: 'folder', folder: { path: site.folder, name: baseName(site.folder) }, choice: anonymous ? 'netlify-drop' : site.platform }) }, 'Check the folder first'), forget),
      watch.el,
      historySection(site, { onRollback: (record) => rollback(site, record), busy: running }),
    );
    if (panel && (follow || v.follow === 'now')) focusPanel(panel.el);
    // Automatic publishes start by themselves: they never take the keyboard focus.
    v.follow = panel && panel.status === 'running' && run.kind !== 'watch';
  }

  function actions(site) {
    return {
      retry: () => redeploy(site),
      publishAnyway: () => redeploy(site, { force: true }),
      recheck: () => go({ name: 'folder', folder: { path: site.folder, name: baseName(site.folder) }, choice: site.platform }),
      reconnect: () => go({ name: 'accounts', connect: accountPlatformOf(site.platform) }),
      choosePlatform: () => go({ name: 'folder', folder: { path: site.folder, name: baseName(site.folder) }, choice: null }),
    };
  }

  function redeploy(site, { force = false } = {}) {
    v.follow = 'now';
    startRun({ folder: site.folder, platform: site.platform, request: { folder: site.folder, platform: site.platform, force } });
  }

  function rollback(site, record) {
    v.follow = 'now';
    startRun({ folder: site.folder, platform: site.platform, kind: 'rollback', deploymentId: record.id, label: `Switching back to deploy #${record.id}` });
  }

  function forgetControl(site) {
    const box = h('span', { class: 'forget' });
    const ask = () =>
      fill(box, 
        h('span', { class: 'muted small' }, `Forget this site and its history on this computer? ${site.platform === 'local' ? '' : `It stays on ${platformName(site.platform)}.`} `),
        h('button', { class: 'btn btn-danger btn-small', type: 'button', onclick: async () => { await api.forgetSite(site.id); await refresh(); go({ name: 'welcome' }); } }, 'Forget'),
        h('button', { class: 'btn btn-small', type: 'button', onclick: idle }, 'Keep'),
      );
    const idle = () => fill(box, h('button', { class: 'btn btn-quiet', type: 'button', onclick: ask }, 'Forget this site'));
    idle();
    return box;
  }

  render();
  if (v.fresh && panel) focusPanel(panel.el);
  return {
    update() {
      const site = siteById(v.siteId);
      const run = site ? runFor(site.folder, site.platform) : null;
      if (!site || signature(site, run) !== lastSig) render();
      else if (watch) watch.update(site);
    },
    tick() {
      if (panel && panel.tick) panel.tick();
    },
    progress(run) {
      if (panel && panel.run === run && panel.update) panel.update(run);
    },
  };
}

function signature(site, run) {
  return JSON.stringify([site.id, site.url, site.project, site.last && site.last.id, site.last && site.last.status, run && run.status, run && run.started]);
}

function accountPlatformOf(platform) {
  return platform === 'cloudflare-workers' ? 'cloudflare-pages' : platform;
}
