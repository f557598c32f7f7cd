// Errors as the page shows them. Commands fail with `{ kind, message }` (sitedrop-core's
// stable `ErrorKind` code and its sentence); this module picks a short title and the next step
// a person can take. Pure: unit-tested in ui/tests/errors.test.js. The `case` labels below are
// checked against `ErrorKind` by src-tauri's tests (src-tauri/src/error.rs): each must be a
// real kind, and a kind not handled here must be listed there as knowingly generic.

import { timeOfDay } from './format.js';

/** Next steps the views know how to perform. */
export const ACTIONS = {
  reconnect: 'Enter a new token',
  retry: 'Try again',
  recheck: 'Check the folder again',
  chooseFolder: 'Choose another folder',
  useParent: 'Use the folder it is in',
  choosePlatform: 'Choose another platform',
  rename: 'Choose another name',
};

/** Any thrown value as `{ kind, message }`. */
export function normalize(err) {
  if (err && typeof err === 'object' && typeof err.kind === 'string') {
    return { message: '', ...err };
  }
  const text = typeof err === 'string' ? err : (err && err.message) || 'Something went wrong.';
  return { kind: 'unexpected', message: text };
}

/**
 * `{ title, message, actions, waitUntil }` for an error. `platform` is the name people know
 * ("Netlify"); `now` is injectable for tests.
 */
export function explain(err, platform = 'The platform', now = Date.now()) {
  const e = normalize(err);
  const out = { kind: e.kind, title: 'That did not work', message: e.message, actions: [], waitUntil: null };
  switch (e.kind) {
    case 'token_invalid':
    case 'token_expired':
    case 'permission_missing':
    case 'no_credentials':
    case 'account_not_found':
      out.title = e.kind === 'no_credentials' ? `Connect ${platform} first` : `${platform} needs a working token`;
      out.actions = ['reconnect'];
      break;
    case 'file_too_large':
    case 'too_many_files':
    case 'bad_file_name':
    case 'empty_folder':
    case 'file_changed':
    case 'unreadable':
      out.title = 'The folder needs a change first';
      out.actions = ['recheck'];
      break;
    case 'rate_limited':
    case 'quota_exhausted': {
      out.title = e.kind === 'rate_limited' ? `${platform} asks Sitedrop to slow down` : `${platform}'s limit is used up`;
      if (e.retry_at_ms && e.retry_at_ms > now) {
        out.waitUntil = e.retry_at_ms;
        out.message = `${firstSentence(e.message)} Wait until ${timeOfDay(e.retry_at_ms)}, then try again.`;
      }
      out.actions = ['retry'];
      break;
    }
    case 'network':
      out.title = `Sitedrop could not reach ${platform}`;
      out.actions = ['retry'];
      break;
    case 'server_error':
    case 'bad_response':
    case 'deploy_failed':
    case 'rejected':
    case 'limit_exceeded':
    case 'interrupted':
      out.title = e.kind === 'interrupted' ? 'This deploy was interrupted' : `${platform} could not publish it`;
      out.actions = ['retry'];
      break;
    case 'verify_failed':
      out.title = 'Published, but not showing yet';
      out.actions = ['retry'];
      break;
    case 'cancelled':
      out.title = 'Cancelled';
      out.actions = ['retry'];
      break;
    case 'deploy_in_progress':
      out.title = 'Already publishing';
      break;
    case 'folder_missing':
      out.title = 'The folder is gone';
      out.actions = ['chooseFolder'];
      break;
    case 'not_a_folder':
      out.title = 'That is a file, not a folder';
      out.actions = ['useParent', 'chooseFolder'];
      break;
    case 'unsupported':
      out.title = 'Not available yet';
      out.actions = ['choosePlatform'];
      break;
    case 'project_name_taken':
    case 'project_name_invalid':
      out.title = 'Choose another name';
      out.actions = ['rename'];
      break;
    case 'keychain_unavailable':
    case 'keychain_locked':
    case 'keychain_timeout':
    case 'keychain_corrupt':
    case 'keychain_error':
      out.title = 'The system keychain did not answer';
      out.actions = ['retry'];
      break;
    case 'data_dir':
    case 'storage':
      out.title = 'Sitedrop cannot write its history';
      break;
    default:
      break;
  }
  return out;
}

function firstSentence(text) {
  const m = /^(.*?[.!?])(\s|$)/.exec(text || '');
  return m ? m[1] : text || '';
}
