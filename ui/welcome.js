// The first screen: a big place to drop a folder, the folder picker, and three steps.

import { api } from './api.js';
import { problemBox } from './deploy.js';
import { h, icon } from './dom.js';
import { parentPath } from './format.js';
import { openFolder, showNotice, state } from './store.js';

/** Opens the system folder picker, then the folder (the same path a drop takes). */
export async function chooseFolder() {
  try {
    const path = await api.chooseFolder();
    if (path) await openFolder(path);
  } catch (e) {
    showNotice(e, 'folder');
  }
}

export function welcomeView(main) {
  const first = state.overview.sites.length === 0;
  const notice = state.notice;
  main.append(
    h(
      'section',
      { class: `welcome${first ? ' first' : ''}`, id: first ? 'empty-state' : 'add-folder-view', 'aria-labelledby': 'view-title' },
      h('h1', { tabindex: '-1', id: 'view-title' }, first ? 'Put a folder on the web' : 'Publish another folder'),
      h('p', { class: 'lead muted' }, 'Any folder with an index.html works: a site you built, an export, a single page.'),
      notice && notice.context === 'folder'
        ? problemBox(notice.error, null, {
            useParent: notice.path ? () => openFolder(parentPath(notice.path)) : null,
            chooseFolder,
          })
        : null,
      h(
        'div',
        { class: 'dropzone', id: 'dropzone' },
        icon('folder'),
        h('p', { class: 'drop-title' }, 'Drop a folder here'),
        h('p', { class: 'muted' }, 'or'),
        h('button', { class: 'btn btn-primary', type: 'button', id: 'choose-folder', 'data-focus': 'choose-folder', onclick: chooseFolder }, 'Choose a folder…'),
      ),
      h(
        'ol',
        { class: 'three-steps' },
        h('li', {}, h('strong', {}, 'Drop a folder'), h('span', { class: 'muted' }, 'Sitedrop shows what it found before anything is sent.')),
        h('li', {}, h('strong', {}, 'Pick where it goes'), h('span', { class: 'muted' }, 'Your own computer, or Cloudflare, Netlify, Vercel or AWS.')),
        h('li', {}, h('strong', {}, 'Get your link'), h('span', { class: 'muted' }, 'Copy it, open it, or scan it with your phone.')),
      ),
    ),
  );
}
