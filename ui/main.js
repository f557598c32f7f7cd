// Sitedrop's window: wires the sidebar, the views and folder drops to the store.

import { accountsView } from './accounts.js';
import { api } from './api.js';
import { problemBox } from './deploy.js';
import { announce, fill } from './dom.js';
import { folderView } from './folder.js';
import { renderSidebar } from './sidebar.js';
import { siteView } from './site.js';
import { anyRunning, go, onWatchProgress, onWatchUpdate, openFolder, refresh, state, subscribe } from './store.js';
import { chooseFolder, welcomeView } from './welcome.js';

const main = document.getElementById('main');
const siteList = document.getElementById('site-list');
const overlay = document.getElementById('drop-overlay');

let mounted = { view: null, handle: null };

/** Re-renders what changed, keeping keyboard focus where it was. */
function render() {
  const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focus : null;
  renderSidebar(siteList);
  const nav = state.view.name === 'accounts' ? 'accounts' : null;
  document.getElementById('nav-accounts').setAttribute('aria-current', nav ? 'page' : 'false');
  if (mounted.view !== state.view) {
    mount();
  } else if (mounted.handle && mounted.handle.update) {
    mounted.handle.update();
  }
  if (focusKey) {
    const again = document.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
    if (again && again !== document.activeElement && !again.disabled) again.focus();
  }
}

function mount() {
  const v = state.view;
  const moved = mounted.view !== null;
  mounted = { view: v, handle: null };
  fill(main);
  if (state.notice && state.notice.context === 'start') {
    main.append(problemBox(state.notice.error));
  }
  if (!state.loaded) return;
  if (v.name === 'folder') mounted.handle = folderView(main, v);
  else if (v.name === 'site') mounted.handle = siteView(main, v);
  else if (v.name === 'accounts') mounted.handle = accountsView(main, v);
  else welcomeView(main);
  if (v.name === 'site' && v.fresh) return; // The site view put focus on the result.
  // Moving to another screen moves focus to its title, so screen readers announce it.
  const title = document.getElementById('view-title');
  if (moved && title) title.focus();
}

subscribe('change', render);
subscribe('progress', (run) => {
  if (mounted.handle && mounted.handle.progress) mounted.handle.progress(run);
});

// The stopwatch of running deploys.
setInterval(() => {
  if (anyRunning() && mounted.handle && mounted.handle.tick) mounted.handle.tick();
}, 500);

document.getElementById('add-folder').addEventListener('click', () => go({ name: 'welcome' }));
document.getElementById('nav-accounts').addEventListener('click', () => go({ name: 'accounts' }));

// Folders dropped on the window arrive as paths; every drop goes through the same event, so
// the GUI tests can drop a folder by dispatching it.
window.addEventListener('sitedrop:paths', (event) => {
  const paths = event.detail || [];
  if (!paths.length) return;
  if (paths.length > 1) announce('Sitedrop publishes one folder at a time; it opened the first one.');
  openFolder(paths[0]);
});

api
  .onDrop(
    (paths) => window.dispatchEvent(new CustomEvent('sitedrop:paths', { detail: paths })),
    (hovering) => {
      overlay.hidden = !hovering;
    },
  )
  .then(() => {
    document.body.dataset.dropReady = 'true';
  })
  .catch((e) => {
    document.body.dataset.dropReady = 'false';
    console.error('Drag and drop is not available:', e);
  });

// Watched sites publish by themselves; their news comes as app events.
api.onWatch(onWatchUpdate, onWatchProgress).catch((e) => console.error('Watch events are not available:', e));

// Keyboard: Ctrl+O opens the folder picker.
window.addEventListener('keydown', (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'o') {
    event.preventDefault();
    chooseFolder();
  }
});

refresh().then(() => {
  if (!state.loaded) {
    render(); // The engine could not open: the notice says why.
    return;
  }
  const first = state.overview.sites[0];
  if (first) go({ name: 'site', siteId: first.id });
  else render();
  document.body.dataset.ready = 'true';
  // After the first screen is painted (for the start-up timing; see scripts/measure-startup.sh).
  requestAnimationFrame(() => requestAnimationFrame(() => api.pageReady().catch(() => {})));
});

// Keep "5 minutes ago" honest while the window stays open.
setInterval(render, 60_000);
