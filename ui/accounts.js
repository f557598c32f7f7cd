// Connected accounts: their names (never their tokens), removal, and connecting another.

import { api } from './api.js';
import { connectForm } from './connect.js';
import { problemBox } from './deploy.js';
import { announce, fill, h } from './dom.js';
import { ago } from './format.js';
import { CONNECT } from './platforms.js';
import { refresh, state } from './store.js';

export function accountsView(main, v) {
  function render() {
    const accounts = state.overview.accounts;
    const connectBox = h('div', { class: 'connect-box' });
    const openForm = (platform) => {
      v.connect = platform;
      fill(connectBox, 
        connectForm(platform, {
          onConnected: () => { v.connect = null; render(); },
          onCancel: () => { v.connect = null; fill(connectBox); },
        }),
      );
      const first = connectBox.querySelector('input');
      if (first) first.focus();
    };
    fill(main, 
      h(
        'header',
        { class: 'view-head' },
        h('h1', { tabindex: '-1', id: 'view-title' }, 'Accounts'),
        h('p', { class: 'muted' }, 'Tokens and keys are kept in your system keychain. Sitedrop shows who they belong to, never the secret itself.'),
      ),
      v.error ? problemBox(v.error) : null,
      accounts.length
        ? h(
            'ul',
            { class: 'account-list', id: 'account-list' },
            accounts.map((a) =>
              h(
                'li',
                { class: 'account-item card', dataset: { platform: a.platform, id: String(a.id) } },
                h('div', {}, h('p', { class: 'account-label' }, h('strong', {}, a.label)), h('p', { class: 'muted small' }, `${CONNECT[a.platform] ? CONNECT[a.platform].name : a.platform}${a.account_ref ? ` · ${a.account_ref}` : ''} · connected ${ago(a.created_at)}`)),
                removeControl(a),
              ),
            ),
          )
        : h('p', { class: 'muted', id: 'no-accounts' }, 'No accounts connected yet. “This computer” and “Netlify, no account” need none.'),
      h('h2', { class: 'section-title' }, 'Connect an account'),
      h('div', { class: 'row wrap' }, Object.entries(CONNECT).map(([platform, info]) => h('button', { class: 'btn', type: 'button', dataset: { connect: platform }, onclick: () => openForm(platform) }, info.name))),
      connectBox,
    );
    if (v.connect) openForm(v.connect);
  }

  function removeControl(account) {
    const box = h('div', { class: 'remove' });
    const idle = () => fill(box, h('button', { class: 'btn btn-quiet', type: 'button', 'aria-label': `Remove ${account.label}`, onclick: ask }, 'Remove'));
    const ask = () =>
      fill(box, 
        h('span', { class: 'small muted' }, 'Remove it and delete its token from the keychain? '),
        h('button', {
          class: 'btn btn-danger btn-small',
          type: 'button',
          onclick: async () => {
            try {
              await api.disconnectAccount(account.id);
              announce(`Removed ${account.label}.`);
              v.error = null;
            } catch (e) {
              v.error = e;
            }
            await refresh();
            render();
          },
        }, 'Remove'),
        h('button', { class: 'btn btn-small', type: 'button', onclick: idle }, 'Keep'),
      );
    idle();
    return box;
  }

  render();
  let sig = JSON.stringify(state.overview.accounts.map((a) => a.id));
  return {
    update() {
      const now = JSON.stringify(state.overview.accounts.map((a) => a.id));
      if (now !== sig && !v.connect) render();
      sig = now;
    },
  };
}
