import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explain, normalize } from '../errors.js';
import { timeOfDay } from '../format.js';

test('a refused token leads to entering a new one', () => {
  const e = explain({ kind: 'token_invalid', message: 'Netlify did not accept the token: 401.' }, 'Netlify');
  assert.equal(e.title, 'Netlify needs a working token');
  assert.deepEqual(e.actions, ['reconnect']);
  assert.equal(e.message, 'Netlify did not accept the token: 401.');
});

test('a file too large leads to checking the folder again', () => {
  const e = explain({ kind: 'file_too_large', message: 'Cloudflare Pages accepts files up to 25 MiB each.' });
  assert.deepEqual(e.actions, ['recheck']);
});

test('a rate limit says until when, in local time', () => {
  const now = Date.UTC(2026, 10, 22, 12, 0);
  const at = now + 30 * 60_000;
  const e = explain({ kind: 'rate_limited', message: 'Vercel is limiting how fast Sitedrop may send requests. Try again at 12:30 UTC (in 30 minutes).', retry_at_ms: at }, 'Vercel', now);
  assert.equal(e.waitUntil, at);
  assert.equal(e.message, `Vercel is limiting how fast Sitedrop may send requests. Wait until ${timeOfDay(at)}, then try again.`);
});

test('a dropped file offers its folder', () => {
  assert.deepEqual(explain({ kind: 'not_a_folder', message: 'x' }).actions, ['useParent', 'chooseFolder']);
});

test('anything thrown becomes kind and message', () => {
  assert.deepEqual(normalize('boom'), { kind: 'unexpected', message: 'boom' });
  assert.deepEqual(normalize(new Error('bad')), { kind: 'unexpected', message: 'bad' });
  assert.equal(normalize({ kind: 'network', message: 'm' }).kind, 'network');
});
