// The page's only door to Sitedrop: Tauri commands (src-tauri/src/commands.rs), two plugin
// calls (open a link in the browser, copy text) and the app's events about watched sites.
// Errors arrive as `{ kind, message }`.

const tauri = () => window.__TAURI__;
const invoke = (cmd, args) => tauri().core.invoke(cmd, args);

let tickets = 0;
const newTicket = () => `run-${Date.now()}-${++tickets}`;

export const api = {
  overview: () => invoke('overview'),
  openFolder: (path) => invoke('open_folder', { path }),
  chooseFolder: () => invoke('choose_folder'),
  inspectFolder: (folder, platform) => invoke('inspect_folder', { folder, platform }),
  /** `credentials`: `{ type: 'token', token }` or `{ type: 'aws', access_key_id, secret_access_key, region }`. */
  connectAccount: (platform, credentials, accountRef) =>
    invoke('connect_account', { platform, credentials, accountRef: accountRef || null }),
  disconnectAccount: (accountId) => invoke('disconnect_account', { accountId }),
  siteHistory: (siteId, limit = 50) => invoke('site_history', { siteId, limit }),
  forgetSite: (siteId) => invoke('forget_site', { siteId }),
  /** Turns watching on (or resumes it) or off; resolves to the watch's status, or null. */
  setSiteWatch: (siteId, watch) => invoke('set_site_watch', { siteId, watch }),
  saveSettings: (settings) => invoke('save_settings', { settings }),
  qrCode: (text) => invoke('qr_code', { text }),
  cancel: (ticket) => invoke('cancel_deploy', { ticket }),
  pageReady: () => invoke('page_ready'),
  /** Health (ui/health.js): check now, `{ last, summary, checks_on }` over 7/30 days, the switch. */
  checkSiteNow: (siteId) => invoke('check_site_now', { siteId }),
  siteHealth: (siteId, days = 7) => invoke('site_health', { siteId, days }),
  setSiteChecks: (siteId, on) => invoke('set_site_checks', { siteId, on }),
  /** Calls `handler(outcome)` after each health check (periodic or "Check now"). */
  async onHealth(handler) {
    await tauri().event.listen('health-checked', (e) => handler(e.payload));
  },

  /** Starts a deploy; `onEvent` receives progress events. Returns `{ ticket, done }`. */
  deploy(request, onEvent) {
    const ticket = newTicket();
    const onProgress = channel(onEvent);
    return { ticket, done: invoke('deploy', { ticket, request, onProgress }) };
  },

  rollback(deploymentId, onEvent) {
    const ticket = newTicket();
    const onProgress = channel(onEvent);
    return { ticket, done: invoke('rollback', { ticket, deploymentId, onProgress }) };
  },

  /** Opens an http(s) address in the browser (the capability allows nothing else). */
  openUrl: (url) => invoke('open_in_browser', { address: url }),
  copy: (text) => invoke('plugin:clipboard-manager|write_text', { text }),

  /** Calls `onUpdate({ status, event })` and `onProgress({ site_id, progress })` for watched sites. */
  async onWatch(onUpdate, onProgress) {
    const { listen } = tauri().event;
    await listen('watch://update', (e) => onUpdate(e.payload));
    await listen('watch://progress', (e) => onProgress(e.payload));
  },

  /** Calls `handler(paths)` when folders are dropped, `onHover(bool)` while dragging. */
  async onDrop(handler, onHover) {
    const webview = tauri().webview.getCurrentWebview();
    return webview.onDragDropEvent((event) => {
      const { type, paths } = event.payload;
      if (type === 'enter' || type === 'over') onHover(true);
      else if (type === 'leave') onHover(false);
      else if (type === 'drop') {
        onHover(false);
        handler(paths || []);
      }
    });
  },
};

function channel(onEvent) {
  const ch = new (tauri().core.Channel)();
  ch.onmessage = onEvent;
  return ch;
}
