import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartSvg, dot } from '../health.js';

test('the dot names the latest state, and says when a site was never checked', () => {
  assert.deepEqual(dot(null), { state: 'unknown', label: 'Not checked yet', title: 'Not checked yet' });
  assert.deepEqual(dot({ state: 'down', detail: 'The server answered with an error (HTTP 503).' }), {
    state: 'down',
    label: 'Down',
    title: 'Down: The server answered with an error (HTTP 503).',
  });
});

const bucket = (checks, down, median_ms) => ({ start: 0, checks, down, median_ms });

test('the chart draws one bar per checked slice, scaled to the slowest, red where down', () => {
  const svg = chartSvg(
    {
      days: 7,
      checks: 5,
      uptime_percent: 80,
      median_ms: 150,
      buckets: [bucket(0, 0, null), bucket(2, 0, 100), bucket(1, 1, null), bucket(2, 0, 200)],
    },
    { width: 40, height: 80 },
  );
  const rects = [...svg.matchAll(/<rect class="([a-z-]+)" x="([\d.]+)" y="(\d+)" width="[\d.]+" height="(\d+)"/g)].map(
    (m) => [m[1], Number(m[2]), Number(m[3]), Number(m[4])],
  );
  assert.deepEqual(rects, [
    ['up', 10, 41, 39],
    ['down', 20, 0, 80],
    ['up', 30, 2, 78],
  ]);
  assert.match(svg, /<title>Last 7 days: 80\.0% up, 5 checks, usually 150 ms<\/title>/);
});

test('a site without checks gets an empty chart that says so', () => {
  const svg = chartSvg({ days: 30, checks: 0, uptime_percent: null, median_ms: null, buckets: [] });
  assert.doesNotMatch(svg, /<rect/);
  assert.match(svg, /Last 30 days: no checks yet, 0 checks/);
});
