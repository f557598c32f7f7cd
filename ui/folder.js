// A folder that was just dropped or chosen: where it should go, what would be published, the
// account it goes with, and the Publish button. The deploy's progress shows here too; once it
// is live the site's own page takes over.

import { api } from './api.js';
import { connectForm } from './connect.js';
import { focusPanel, runPanel, problemBox } from './deploy.js';
import { fill, h, icon } from './dom.js';
import { normalize } from './errors.js';
import { bytes, plural } from './format.js';
import { accountFor, availableChoices, choiceById, CONNECT } from './platforms.js';
import { go, openFolder, runFor, startRun, state } from './store.js';
import { chooseFolder } from './welcome.js';

/** Renders the folder view into `main`; returns `{ update, tick }` for the main loop. */
export function folderView(main, v) {
  const folder = v.folder;
  // Per-view choices survive re-renders in the view object itself.
  v.choice = v.choice || rememberedChoice(folder.path);
  v.allow = v.allow || [];
  v.project = v.project || '';
  v.preview = v.preview || false;

  const reportBox = h('section', { class: 'card report', id: 'folder-report', 'aria-labelledby': 'report-heading', 'aria-live': 'polite' });
  const accountBox = h('section', { class: 'card account', id: 'account-section', 'aria-label': 'Account' });
  const runBox = h('div', { class: 'run-box' });
  const publish = h('button', { class: 'btn btn-primary btn-big', type: 'button', id: 'deploy-button', 'data-focus': 'deploy-button', onclick: () => deploy() });
  const why = h('p', { class: 'muted small', id: 'deploy-why' });
  publish.setAttribute('aria-describedby', 'deploy-why');

  const cards = availableChoices(state.overview.accounts).map((c) =>
    h(
      'label',
      { class: 'platform-card', dataset: { platform: c.choice } },
      h('input', {
        type: 'radio',
        name: 'platform',
        value: c.choice,
        checked: c.choice === v.choice,
        onchange: () => {
          v.choice = c.choice;
          v.report = null;
          renderAll();
          inspect();
        },
      }),
      h('span', { class: 'platform-name' }, c.name),
      h('span', { class: 'platform-blurb' }, c.blurb),
      c.choice === 'local' && state.overview.local.error
        ? h('span', { class: 'platform-blurb error-text' }, state.overview.local.error.message)
        : null,
    ),
  );

  const projectInput = h('input', { id: 'project-name', type: 'text', autocomplete: 'off', spellcheck: 'false', value: v.project, oninput: (e) => (v.project = e.target.value), 'aria-describedby': 'project-hint' });
  const previewBox = h('input', { id: 'preview', type: 'checkbox', checked: v.preview, onchange: (e) => (v.preview = e.target.checked) });
  const more = h(
    'details',
    { class: 'more card', id: 'more-options' },
    h('summary', {}, 'More options'),
    h('div', { class: 'field' }, h('label', { for: 'project-name' }, 'Name on the platform'), projectInput, h('p', { class: 'hint', id: 'project-hint' }, 'Leave empty to use the name from last time, or one made from the folder’s name.')),
    h('label', { class: 'check' }, previewBox, ' Publish to a preview address and leave the live site as it is'),
  );

  main.append(
    h(
      'header',
      { class: 'view-head' },
      h('p', { class: 'eyebrow' }, 'New deploy'),
      h('h1', { tabindex: '-1', id: 'view-title' }, folder.name),
      h('p', { class: 'muted mono small path', title: folder.path }, folder.path),
      h('button', { class: 'link', type: 'button', onclick: () => chooseFolder() }, 'Choose a different folder'),
    ),
    h(
      'fieldset',
      { class: 'platforms', id: 'platform-picker' },
      h('legend', {}, h('span', { class: 'step-no', 'aria-hidden': 'true' }, '1'), 'Where should it go?'),
      h('div', { class: 'platform-grid' }, cards),
    ),
    h('h2', { class: 'section-title', id: 'report-heading' }, h('span', { class: 'step-no', 'aria-hidden': 'true' }, '2'), 'What will be published'),
    reportBox,
    accountBox,
    more,
    h('div', { class: 'publish-row' }, publish, why),
    runBox,
  );

  let panel = null;
  let accountSig = '';

  function choice() {
    return choiceById(v.choice);
  }

  function renderReport() {
    const r = v.report;
    if (v.reportError) {
      fill(reportBox, problemBox(v.reportError, choice() && choice().platform, { recheck: inspect, chooseFolder, useParent: null }));
      return;
    }
    if (!r) {
      fill(reportBox, h('p', { class: 'muted' }, 'Looking at the folder…'));
      return;
    }
    const items = [];
    if (r.held_back.length) {
      items.push(
        h(
          'li',
          { class: 'held' },
          icon('shield'),
          h(
            'div',
            {},
            h('p', {}, `Held back ${plural(r.held_back.length, 'item')} that may be secret, so ${r.held_back.length === 1 ? 'it is' : 'they are'} not published:`),
            h(
              'ul',
              { class: 'plain' },
              r.held_back.map((hb) =>
                h(
                  'li',
                  {},
                  h('span', { class: 'mono' }, hb.path),
                  h('span', { class: 'muted' }, ` — ${hb.reason}. `),
                  h('label', { class: 'check small' }, h('input', {
                    type: 'checkbox',
                    checked: v.allow.includes(hb.path),
                    onchange: (e) => {
                      v.allow = e.target.checked ? [...v.allow, hb.path] : v.allow.filter((p) => p !== hb.path);
                    },
                  }), ' Publish it anyway'),
                ),
              ),
            ),
          ),
        ),
      );
    }
    if (r.ignored.length) {
      items.push(h('li', {}, icon('info'), h('div', {}, h('p', {}, `Left out ${plural(r.ignored.length, 'item')} that sites never need: `, h('span', { class: 'mono small' }, shortList(r.ignored)), '.'))));
    }
    for (const w of r.warnings) items.push(h('li', {}, icon('warn'), h('p', {}, w)));
    fill(reportBox, 
      h('p', { class: 'report-total' }, h('strong', { id: 'report-files' }, plural(r.files, 'file')), h('span', { class: 'muted' }, ' · '), h('strong', { id: 'report-bytes' }, bytes(r.bytes))),
      items.length ? h('ul', { class: 'report-items' }, items) : h('p', { class: 'muted small' }, 'Nothing held back, nothing left out.'),
      r.problem
        ? h('div', { class: 'problem-inline', role: 'alert', id: 'report-problem', dataset: { kind: r.problem_kind || '' } }, icon('warn'), h('div', {}, h('p', {}, r.problem), h('button', { class: 'btn', type: 'button', onclick: inspect }, 'Check the folder again')))
        : null,
    );
  }

  function renderAccount() {
    const c = choice();
    const accounts = state.overview.accounts;
    accountSig = JSON.stringify(accounts.map((a) => a.id));
    if (!c || c.account === 'none') {
      accountBox.hidden = true;
      fill(accountBox);
      return;
    }
    accountBox.hidden = false;
    const account = accountFor(c, accounts);
    if (account && !v.reconnect) {
      fill(accountBox, 
        h('p', { class: 'account-line', id: 'account-line' }, icon('check'), 'Publishing as ', h('strong', {}, account.label), account.account_ref ? h('span', { class: 'muted' }, ` (${account.account_ref})`) : null),
        h('button', { class: 'link', type: 'button', onclick: () => { v.reconnect = true; renderAccount(); } }, 'Use another account'),
      );
      return;
    }
    fill(accountBox, 
      h('p', { class: 'muted small' }, `${CONNECT[c.accountPlatform].name} needs to know it is you. Connect once; Sitedrop remembers it.`),
      connectForm(c.accountPlatform, {
        onConnected: () => { v.reconnect = false; renderAll(); },
        onCancel: account ? () => { v.reconnect = false; renderAccount(); } : null,
      }),
    );
  }

  function renderPublish() {
    const c = choice();
    const run = c ? runFor(folder.path, c.platform) : null;
    const running = run && run.status === 'running';
    const account = c ? accountFor(c, state.overview.accounts) : null;
    let reason = '';
    if (!c) reason = 'Choose where the site should go.';
    else if (c.account !== 'none' && !account) reason = `Connect ${CONNECT[c.accountPlatform].name} above first.`;
    else if (!v.report) reason = v.reportError ? 'Sitedrop cannot publish this folder as it is.' : 'Looking at the folder…';
    else if (v.report.problem) reason = 'Fix the problem above, then check the folder again.';
    else if (running) reason = 'Publishing now.';
    fill(publish, icon('upload'), c ? (c.platform === 'local' ? 'Publish on this computer' : `Publish to ${c.name}`) : 'Publish');
    publish.disabled = Boolean(reason);
    why.textContent = reason;
    if (run) {
      if (!panel || panel.status !== run.status || panel.run !== run) {
        panel = { ...runPanel(run, runActions()), status: run.status, run };
        fill(runBox, panel.el);
        if (v.follow) focusPanel(panel.el);
      }
    } else {
      panel = null;
      fill(runBox);
    }
  }

  function runActions() {
    return {
      retry: deploy,
      recheck: inspect,
      reconnect: () => { v.reconnect = true; renderAccount(); const f = accountBox.querySelector('input'); if (f) f.focus(); },
      choosePlatform: () => { const r = main.querySelector('input[name="platform"]'); if (r) r.focus(); },
      rename: () => { more.open = true; projectInput.focus(); },
      chooseFolder,
    };
  }

  function renderAll() {
    renderReport();
    renderAccount();
    renderPublish();
  }

  async function inspect() {
    const c = choice();
    const platform = c ? c.platform : 'local';
    const asked = v.choice;
    v.report = null;
    v.reportError = null;
    renderReport();
    renderPublish();
    try {
      const report = await api.inspectFolder(folder.path, platform);
      if (v.choice !== asked) return; // Another platform was picked meanwhile.
      v.report = report;
    } catch (e) {
      v.reportError = normalize(e);
    }
    renderReport();
    renderPublish();
  }

  async function deploy() {
    const c = choice();
    if (!c) return;
    v.follow = true; // Keep the person's focus with this deploy as it goes.
    const run = startRun({
      folder: folder.path,
      platform: c.platform,
      request: { folder: folder.path, platform: c.platform, project: v.project || null, preview: v.preview, allow: v.allow },
    });
    renderPublish();
    const finished = await run;
    if (finished.status === 'live' && state.view === v) {
      go({ name: 'site', siteId: finished.outcome.site_id, fresh: finished });
    }
  }

  renderAll();
  inspect();

  return {
    update() {
      if (JSON.stringify(state.overview.accounts.map((a) => a.id)) !== accountSig) renderAccount();
      renderPublish();
    },
    tick() {
      if (panel && panel.tick) panel.tick();
    },
    progress(run) {
      if (panel && panel.run === run && panel.update) panel.update(run);
    },
  };
}

/** The platform this folder went to last time, if any. */
function rememberedChoice(path) {
  const site = state.overview.sites.find((s) => s.folder === path);
  if (!site) return null;
  const drop = site.platform === 'netlify' && !state.overview.accounts.some((a) => a.platform === 'netlify');
  return drop ? 'netlify-drop' : site.platform;
}

function shortList(paths) {
  const shown = paths.slice(0, 4).join(', ');
  return paths.length > 4 ? `${shown} and ${paths.length - 4} more` : shown;
}

export { openFolder };
