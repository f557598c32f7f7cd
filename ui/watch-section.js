// The site view's "keep this site up to date" section: the switch that turns watching on or
// off, what the watch is doing now, why it paused (with Resume), and whether a successful
// automatic publish should notify too.

import { h, fill, announce } from './dom.js';
import { normalize } from './errors.js';
import { platformName } from './platforms.js';
import { saveSettings, setWatch, state, watchOf } from './store.js';
import { describeWatch } from './watch.js';

/** `site` -> `{ el, update(site) }`; `update` redraws from the store without rebuilding. */
export function watchSection(site) {
  let busy = false;
  let current = site;
  const toggle = h('input', {
    type: 'checkbox',
    role: 'switch',
    id: 'watch-toggle',
    class: 'switch',
    'data-focus': 'watch-toggle',
    'aria-describedby': 'watch-status watch-hint',
    onchange: () => change(toggle.checked),
  });
  const statusLine = h('p', { id: 'watch-status', class: 'watch-status' });
  const paused = h('div', { id: 'watch-paused', class: 'watch-paused', hidden: true });
  const error = h('p', { id: 'watch-error', class: 'field-error' });
  const hint = h('p', { id: 'watch-hint', class: 'hint' });
  const tellSuccess = h('input', {
    type: 'checkbox',
    id: 'notify-success',
    'data-focus': 'notify-success',
    onchange: async () => {
      try {
        await saveSettings({ notify_watch_success: tellSuccess.checked });
        fill(error);
      } catch (e) {
        tellSuccess.checked = !tellSuccess.checked;
        fill(error, normalize(e).message);
      }
    },
  });
  const el = h(
    'section',
    { class: 'watch card', id: 'watch-section', 'aria-labelledby': 'watch-heading' },
    h('h2', { id: 'watch-heading', class: 'sr-only' }, 'Automatic publishing'),
    h('div', { class: 'switch-row' }, toggle, h('label', { for: 'watch-toggle' }, 'Keep this site up to date: publish again when files change')),
    h('div', { class: 'watch-now', 'aria-live': 'polite' }, statusLine, paused),
    error,
    hint,
    h('label', { class: 'check small notify-line' }, tellSuccess, 'Also tell me when an automatic publish succeeds (failures and pauses always notify)'),
  );

  async function change(on) {
    busy = true;
    fill(error);
    update(current);
    try {
      await setWatch(current.id, on);
      announce(on ? 'Watching the folder. Changes are published automatically.' : 'Watching turned off.');
    } catch (e) {
      fill(error, normalize(e).message);
    }
    busy = false;
    update(current);
  }

  let shown = '';
  function update(site) {
    current = site;
    const status = watchOf(site.id);
    const on = !!status || site.watch;
    const published = !!site.last;
    const d = describeWatch(on ? status || { state: 'starting' } : null);
    toggle.checked = on;
    toggle.disabled = busy || (!on && !published);
    el.dataset.state = on ? (status ? status.state : 'starting') : 'off';
    const text = on ? d.text : 'Off: publish by pressing “Publish again”.';
    const key = JSON.stringify([text, d.reason, d.canResume]);
    if (key !== shown) {
      shown = key;
      statusLine.className = `watch-status tone-${d.tone}`;
      fill(statusLine, h('span', { class: `dot dot-watch-${d.tone}`, 'aria-hidden': 'true' }), text);
      paused.hidden = d.tone !== 'paused';
      if (d.tone === 'paused') {
        fill(
          paused,
          h('p', { id: 'watch-paused-reason' }, d.reason),
          d.canResume
            ? h('button', { class: 'btn btn-small', type: 'button', id: 'watch-resume', 'data-focus': 'watch-resume', onclick: () => change(true) }, 'Resume watching')
            : null,
        );
      } else {
        fill(paused);
      }
    }
    const where = site.platform === 'local' ? 'this computer' : platformName(site.platform);
    fill(
      hint,
      !published && !on
        ? 'Publish the site once; then Sitedrop can keep it up to date.'
        : on
          ? `Sitedrop publishes to ${where} a moment after files change, also while its window is closed (it stays in the tray). Each publish appears in the history as “automatic”.`
          : `When on, Sitedrop publishes to ${where} a moment after files in the folder change, also while its window is closed.`,
    );
    tellSuccess.checked = !!state.settings.notify_watch_success;
  }

  update(site);
  return { el, update };
}
