import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, baseName, bytes, clock, duration, parentPath, plural } from '../format.js';

test('sizes read like people write them, in the same multiples as the engine', () => {
  assert.equal(bytes(0), '0 bytes');
  assert.equal(bytes(1), '1 byte');
  assert.equal(bytes(1536), '1.5 KB');
  assert.equal(bytes(25 * 1024 * 1024), '25 MB');
  assert.equal(bytes(150 * 1024 * 1024), '150 MB');
});

test('counts have the right plural and thousands separators', () => {
  assert.equal(plural(1, 'file'), '1 file');
  assert.equal(plural(20000, 'file'), '20,000 files');
});

test('durations and the stopwatch', () => {
  assert.equal(duration(400), '0.4 s');
  assert.equal(duration(12_000), '12 s');
  assert.equal(duration(125_000), '2 min 5 s');
  assert.equal(duration(null), '–');
  assert.equal(clock(65_000), '1:05');
  assert.equal(clock(3_725_000), '1:02:05');
});

test('how long ago', () => {
  const now = new Date(2026, 10, 22, 15, 0).getTime();
  assert.equal(ago(now - 10_000, now), 'just now');
  assert.equal(ago(now - 5 * 60_000, now), '5 minutes ago');
  assert.equal(ago(now - 2 * 3600_000, now), '2 hours ago');
  assert.equal(ago(new Date(2026, 10, 21, 9, 5).getTime(), now), 'yesterday at 09:05');
  assert.equal(ago(new Date(2026, 10, 3, 9, 5).getTime(), now), '3 Nov at 09:05');
});

test('paths: the folder name, and the folder holding a dropped file', () => {
  assert.equal(baseName('/home/ann/blog/'), 'blog');
  assert.equal(parentPath('/home/ann/blog/index.html'), '/home/ann/blog');
  assert.equal(parentPath('/index.html'), '/');
});
