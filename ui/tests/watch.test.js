import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changesHistory, describeWatch, foldWatchEvent, foldWatchProgress, mergeSnapshot, newer } from '../watch.js';
import { view } from '../progress.js';

const site = { id: 4, folder: '/home/ann/blog', platform: 'local' };
const ctx = (now = 1000) => ({ site, key: '/home/ann/blog|local', now });

test('each watch state has its words; a pause carries its reason', () => {
  assert.equal(describeWatch(null).tone, 'off');
  assert.equal(describeWatch({ state: 'watching' }).tone, 'watching');
  assert.equal(describeWatch({ state: 'watching' }).short, 'watching');
  assert.equal(describeWatch({ state: 'changed' }).text, 'Changes seen, publishing soon…');
  assert.equal(describeWatch({ state: 'deploying', pending: false }).text, 'Publishing your changes…');
  assert.match(describeWatch({ state: 'deploying', pending: true }).text, /More changes came in/);
  const paused = describeWatch({ state: 'paused', reason: 'The folder was moved or deleted.' });
  assert.deepEqual([paused.tone, paused.text, paused.reason], ['paused', 'Paused', 'The folder was moved or deleted.']);
  assert.equal(describeWatch({ state: 'paused', reason: null }).reason, 'Watching stopped.');
  assert.equal(paused.canResume, true, 'a pause that needs a person offers Resume');
  const waiting = describeWatch({ state: 'paused', reason: 'It resumes if the folder comes back.', resumes_by_itself: true });
  assert.equal(waiting.canResume, false, 'a vanished folder is waited for');
});

test('an automatic publish becomes a run: started, fed progress, finished live', () => {
  let run = foldWatchEvent(null, { event: 'deploying' }, ctx(1000));
  assert.equal(run.kind, 'watch');
  assert.equal(run.status, 'running');
  assert.equal(run.started, 1000);
  run = foldWatchProgress(run, { event: 'phase', phase: 'upload', label: 'Uploading' }, ctx(1100));
  run = foldWatchProgress(run, { event: 'uploading', files_done: 1, files_total: 2, bytes_done: 5, bytes_total: 10, current: 'a.css' }, ctx(1200));
  assert.equal(run.started, 1000, 'progress keeps the same run');
  assert.equal(view(run.progress).fraction, 0.5);
  const outcome = { id: 12, url: 'http://blog.localhost:1/', files: 2, uploaded: 1 };
  run = foldWatchEvent(run, { event: 'deployed', outcome }, ctx(1500));
  assert.deepEqual([run.status, run.outcome, run.finished, run.started], ['live', outcome, 1500, 1000]);
});

test('a failed automatic publish keeps the kind and message; a cancel is not a failure', () => {
  const running = foldWatchEvent(null, { event: 'deploying' }, ctx());
  const failed = foldWatchEvent(running, { event: 'failed', kind: 'network', message: 'Offline.' }, ctx(2000));
  assert.equal(failed.status, 'failed');
  assert.deepEqual(failed.error, { kind: 'network', message: 'Offline.' });
  const cancelled = foldWatchEvent(running, { event: 'failed', kind: 'cancelled', message: 'Cancelled.' }, ctx(2000));
  assert.equal(cancelled.status, 'cancelled');
});

test('a manual deploy in progress is never replaced by watch news', () => {
  const manual = { kind: 'deploy', status: 'running', started: 5 };
  assert.equal(foldWatchEvent(manual, { event: 'deploying' }, ctx()), manual);
  assert.equal(foldWatchEvent(manual, { event: 'paused', reason: 'x' }, ctx()), manual);
  assert.equal(foldWatchProgress(manual, { event: 'phase', phase: 'scan', label: 'x' }, ctx()), manual);
});

test('a pause drops an automatic run still running, and leaves finished ones alone', () => {
  const running = foldWatchEvent(null, { event: 'deploying' }, ctx());
  assert.equal(foldWatchEvent(running, { event: 'paused', reason: 'gone' }, ctx()), null);
  const done = foldWatchEvent(running, { event: 'deployed', outcome: {} }, ctx());
  assert.equal(foldWatchEvent(done, { event: 'paused', reason: 'gone' }, ctx()), done);
  assert.equal(foldWatchEvent(null, { event: 'paused', reason: 'gone' }, ctx()), null);
});

test('progress whose start was missed (the page reloaded) still shows a run', () => {
  const finished = { kind: 'deploy', status: 'live', started: 1 };
  const run = foldWatchProgress(finished, { event: 'phase', phase: 'hash', label: 'Fingerprinting files' }, ctx(3000));
  assert.equal(run.kind, 'watch');
  assert.equal(run.status, 'running');
  assert.equal(run.progress.phase, 'hash');
});

test('routine watch events change nothing; results refresh the history', () => {
  const done = { kind: 'deploy', status: 'live' };
  for (const event of [{ event: 'watching' }, { event: 'changed', paths: 1 }, { event: 'unchanged' }, null]) {
    assert.equal(foldWatchEvent(done, event, ctx()), done);
  }
  assert.equal(changesHistory({ event: 'deployed' }), true);
  assert.equal(changesHistory({ event: 'failed' }), true);
  assert.equal(changesHistory({ event: 'changed' }), false);
  assert.equal(changesHistory(null), false);
});

test('an older status never replaces a newer one, whichever arrives last', () => {
  const changed = { site_id: 4, state: 'changed', seq: 7 };
  const watching = { site_id: 4, state: 'watching', seq: 9 };
  assert.equal(newer(changed, watching), watching);
  assert.equal(newer(watching, changed), watching);
  assert.equal(newer(null, changed), changed);
});

test('a snapshot taken before the latest event does not undo it', () => {
  // The page heard "watching" (seq 9) while an overview taken at seq 8 was on its way.
  const known = new Map([[4, { site_id: 4, state: 'watching', seq: 9 }]]);
  const merged = mergeSnapshot(known, { statuses: [{ site_id: 4, state: 'changed', seq: 8 }], seq: 8 });
  assert.equal(merged.get(4).state, 'watching');
  // A newer snapshot wins.
  const later = mergeSnapshot(known, { statuses: [{ site_id: 4, state: 'deploying', seq: 10 }], seq: 10 });
  assert.equal(later.get(4).state, 'deploying');
});

test('a site missing from a snapshot is unwatched, unless the page heard of it since', () => {
  const known = new Map([
    [4, { site_id: 4, state: 'watching', seq: 3 }],
    [5, { site_id: 5, state: 'starting', seq: 12 }],
  ]);
  const merged = mergeSnapshot(known, { statuses: [], seq: 10 });
  assert.equal(merged.has(4), false, 'turned off before the snapshot');
  assert.equal(merged.get(5).state, 'starting', 'turned on after the snapshot');
  assert.equal(mergeSnapshot(new Map(), undefined).size, 0);
});
