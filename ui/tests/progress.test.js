import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initial, reduce, stepStates, view } from '../progress.js';

const run = (events) => events.reduce(reduce, initial());

test('a deploy folds into steps, a bar and counts', () => {
  const s = run([
    { event: 'phase', phase: 'scan', label: 'Looking at your files' },
    { event: 'scanned', files: 3, bytes: 300, ignored: 1, held_back: 1 },
    { event: 'phase', phase: 'hash', label: 'Fingerprinting files' },
    { event: 'phase', phase: 'upload', label: 'Uploading' },
    { event: 'uploading', files_done: 1, files_total: 2, bytes_done: 50, bytes_total: 200, current: 'css/site.css' },
  ]);
  assert.deepEqual(stepStates(s), ['done', 'done', 'done', 'active', 'todo', 'todo']);
  const v = view(s);
  assert.equal(v.fraction, 0.25);
  assert.equal(v.counts, '1 of 2 files · 50 bytes of 200 bytes');
  assert.equal(v.current, 'css/site.css');
});

test('an upload with nothing new says so, and done fills every step', () => {
  let s = run([
    { event: 'phase', phase: 'upload', label: 'Uploading' },
    { event: 'uploading', files_done: 0, files_total: 0, bytes_done: 0, bytes_total: 0, current: null },
  ]);
  assert.equal(view(s).counts, 'Nothing new to upload: every file is already there.');
  s = reduce(s, { event: 'phase', phase: 'done', label: 'Done' });
  assert.deepEqual(stepStates(s), Array(6).fill('done'));
  assert.equal(view(s).fraction, 1);
});

test('warnings are kept once each; unknown events change nothing', () => {
  const s = run([
    { event: 'warning', message: 'Skipped link' },
    { event: 'warning', message: 'Skipped link' },
    { event: 'something_new' },
  ]);
  assert.deepEqual(s.warnings, ['Skipped link']);
});

test('processing shows the platform’s own word with an indeterminate bar', () => {
  const s = run([
    { event: 'phase', phase: 'poll', label: 'Waiting for the platform' },
    { event: 'processing', detail: 'processing' },
  ]);
  assert.equal(view(s).fraction, null);
  assert.deepEqual(stepStates(s), ['done', 'done', 'done', 'done', 'active', 'todo']);
});
