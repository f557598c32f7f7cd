// Connecting an account: where the token is made, what to tick, and one field to paste it in.
// The token goes to the app once (`connect_account`), which checks it with the platform and
// keeps it in the system keychain; the field is emptied at once and the page only ever sees
// the account's name afterwards.

import { api } from './api.js';
import { announce, fill, h, icon } from './dom.js';
import { explain, normalize } from './errors.js';
import { AMPLIFY_REGIONS, CONNECT } from './platforms.js';
import { refresh } from './store.js';

let forms = 0;

/** The form for an account platform (`netlify`, `cloudflare-pages`, `vercel`, `amplify`). */
export function connectForm(accountPlatform, { onConnected, onCancel } = {}) {
  const info = CONNECT[accountPlatform];
  const n = ++forms;
  const id = (s) => `connect-${n}-${s}`;
  const isAws = accountPlatform === 'amplify';

  const errorBox = h('div', { class: 'field-error', id: id('error'), role: 'alert' });
  const fields = [];
  const secretInput = (name, label, describedBy) => {
    const input = h('input', {
      id: id(name),
      name,
      type: 'password',
      autocomplete: 'off',
      spellcheck: 'false',
      autocapitalize: 'off',
      required: true,
      'aria-describedby': [describedBy, id('error')].filter(Boolean).join(' '),
      class: 'mono',
    });
    fields.push(h('div', { class: 'field' }, h('label', { for: id(name) }, label), input));
    return input;
  };
  const textInput = (name, label, hint, attrs = {}) => {
    const input = h('input', { id: id(name), name, type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono', 'aria-describedby': hint ? id(`${name}-hint`) : null, ...attrs });
    fields.push(h('div', { class: 'field' }, h('label', { for: id(name) }, label), input, hint ? h('p', { class: 'hint', id: id(`${name}-hint`) }, hint) : null));
    return input;
  };

  let token, keyId, secret, region, ref;
  if (isAws) {
    keyId = textInput('access-key-id', 'Access key ID', null, { required: true });
    secret = secretInput('secret-access-key', 'Secret access key');
    region = h('select', { id: id('region'), name: 'region' }, AMPLIFY_REGIONS.map((r) => h('option', { value: r }, r)));
    fields.push(h('div', { class: 'field' }, h('label', { for: id('region') }, 'Region'), region));
  } else {
    token = secretInput('token', info.tokenLabel, id('token-hint'));
    fields.push(h('p', { class: 'hint', id: id('token-hint') }, 'It is checked right away and kept in your system keychain. Sitedrop never shows it again.'));
    if (info.ref) {
      const details = h('details', { class: 'more' }, h('summary', {}, `${info.ref.label} (optional)`));
      const before = fields.length;
      ref = textInput('ref', info.ref.label, info.ref.hint);
      details.append(...fields.splice(before));
      fields.push(details);
    }
  }

  const choiceBox = h('div', { class: 'choices' });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', id: id('submit') }, 'Connect');
  const form = h(
    'form',
    {
      class: 'connect',
      'aria-labelledby': id('title'),
      dataset: { platform: accountPlatform },
      onsubmit: async (event) => {
        event.preventDefault();
        fill(errorBox);
        const credentials = isAws
          ? { type: 'aws', access_key_id: keyId.value, secret_access_key: secret.value, region: region.value }
          : { type: 'token', token: token.value };
        const chosen = form.querySelector('input[name="account-choice"]:checked');
        const accountRef = chosen ? chosen.value : ref ? ref.value : null;
        submit.disabled = true;
        submit.textContent = `Checking with ${info.name}…`;
        form.setAttribute('aria-busy', 'true');
        try {
          const account = await api.connectAccount(accountPlatform, credentials, accountRef);
          // The secret now lives in the keychain only.
          if (token) token.value = '';
          if (secret) secret.value = '';
          announce(`Connected to ${info.name} as ${account.label}.`);
          await refresh();
          if (onConnected) onConnected(account);
        } catch (e) {
          const err = normalize(e);
          if (err.kind === 'account_choice_needed' && err.choices) {
            showChoices(err.choices);
          } else {
            const said = explain(err, info.name);
            errorBox.append(icon('warn'), h('span', {}, said.message));
            (token || secret).focus();
          }
        } finally {
          submit.disabled = false;
          submit.textContent = 'Connect';
          form.removeAttribute('aria-busy');
        }
      },
    },
    h('h3', { id: id('title') }, `Connect ${info.name}`),
    h(
      'ol',
      { class: 'how' },
      h('li', {}, h('button', { class: 'link', type: 'button', onclick: () => api.openUrl(info.url) }, info.linkText, icon('external'))),
      info.steps.map((s) => h('li', {}, s)),
      h('li', {}, isAws ? 'Paste them below.' : 'Paste it below.'),
    ),
    fields,
    choiceBox,
    errorBox,
    h('div', { class: 'row' }, submit, onCancel ? h('button', { class: 'btn btn-quiet', type: 'button', onclick: onCancel }, 'Cancel') : null),
  );

  function showChoices(choices) {
    fill(choiceBox, 
      h(
        'fieldset',
        {},
        h('legend', {}, 'This token reaches several accounts. Which one should Sitedrop use?'),
        choices.map(([value, name], i) =>
          h('label', { class: 'choice-line' }, h('input', { type: 'radio', name: 'account-choice', value, checked: i === 0 }), ` ${name} `, h('span', { class: 'muted mono small' }, value)),
        ),
      ),
    );
    announce('Choose an account, then press Connect again.');
  }

  return form;
}
