// The live URL: the address itself (opens in the browser), copy, open, and a QR code for
// phones. The QR image is drawn by the app, so the page still makes no network call.

import { api } from './api.js';
import { announce, h, icon } from './dom.js';

/** `{ url, platform, note, claimUrl, heading }` -> the live panel. */
export function livePanel({ url, platform, note, claimUrl, heading = 'Live at' }) {
  const qrBox = h('div', { class: 'qr', hidden: true });
  const copyLabel = h('span', {}, 'Copy address');
  const copyBtn = h(
    'button',
    {
      class: 'btn',
      type: 'button',
      id: 'copy-url',
      'data-focus': 'copy-url',
      onclick: async () => {
        try {
          await api.copy(url);
          copyLabel.textContent = 'Copied';
          announce('Address copied.');
          setTimeout(() => (copyLabel.textContent = 'Copy address'), 2000);
        } catch {
          copyLabel.textContent = 'Could not copy';
        }
      },
    },
    icon('copy'),
    copyLabel,
  );
  const qrBtn = h(
    'button',
    {
      class: 'btn',
      type: 'button',
      id: 'show-qr',
      'data-focus': 'show-qr',
      'aria-expanded': 'false',
      'aria-controls': 'qr-box',
      onclick: async () => {
        const open = qrBox.hidden;
        qrBtn.setAttribute('aria-expanded', String(open));
        qrBox.hidden = !open;
        if (open && !qrBox.firstChild) {
          try {
            const src = await api.qrCode(url);
            qrBox.append(
              h('img', { src, width: 200, height: 200, alt: `QR code for ${url}` }),
              h('p', { class: 'muted small' }, platform === 'local'
                ? 'Phones cannot open this address: it works on this computer only.'
                : 'Point a phone’s camera here to open the site.'),
            );
          } catch (e) {
            qrBox.append(h('p', { class: 'muted' }, e.message || 'No QR code for this address.'));
          }
        }
      },
    },
    icon('qr'),
    'QR code',
  );
  qrBox.id = 'qr-box';
  return h(
    'section',
    { class: 'live', 'aria-labelledby': 'live-heading' },
    h('h2', { id: 'live-heading', class: 'eyebrow' }, heading),
    h(
      'button',
      { class: 'live-url', type: 'button', id: 'live-url', 'data-url': url, 'data-focus': 'live-url', title: 'Open in your browser', onclick: () => api.openUrl(url) },
      url,
      icon('external'),
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { class: 'btn', type: 'button', 'data-focus': 'open-url', onclick: () => api.openUrl(url) }, icon('external'), 'Open in browser'),
      copyBtn,
      qrBtn,
    ),
    qrBox,
    platform === 'local'
      ? h('p', { class: 'muted small' }, 'Only this computer can open it, while Sitedrop is open.')
      : null,
    claimUrl
      ? h(
          'p',
          { class: 'callout' },
          'This site is temporary until you claim it. ',
          h('button', { class: 'link', type: 'button', onclick: () => api.openUrl(claimUrl) }, 'Claim it on Netlify'),
          ' to keep it.',
        )
      : null,
    note ? h('p', { class: 'muted small' }, note) : null,
  );
}
