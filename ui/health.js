// Health of published sites (issue 18), drawn without any network call: the sidebar's dot and
// the site page's chart of response times and uptime. Pure functions of what the app's
// `site_health` command returns, so they are unit-tested in ui/tests/health.test.js. The
// screens that show them (sidebar.js, site.js) are being reshaped; they call these.

const LABELS = {
  up: 'Up',
  slow: 'Slow',
  down: 'Down',
  changed: 'Changed',
  cert_expiring: 'Certificate expires soon',
};

/** The dot for a site's latest check (`null`: never checked): `{ state, label, title }`. */
export function dot(check) {
  if (!check) return { state: 'unknown', label: 'Not checked yet', title: 'Not checked yet' };
  const label = LABELS[check.state] || check.state;
  return { state: check.state, label, title: `${label}: ${check.detail}` };
}

const escape = (s) =>
  String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * An SVG chart of a `HealthSummary`: one bar per slice, its height the slice's median response
 * time (scaled to the slowest slice), red where the site was down in that slice, grey gaps
 * where nothing was checked; the uptime in the title. Returns markup for `innerHTML`.
 */
export function chartSvg(summary, { width = 336, height = 80 } = {}) {
  const buckets = summary.buckets || [];
  const n = Math.max(buckets.length, 1);
  const slowest = Math.max(1, ...buckets.map((b) => b.median_ms || 0));
  const w = width / n;
  const uptime =
    summary.uptime_percent == null ? 'no checks yet' : `${summary.uptime_percent.toFixed(1)}% up`;
  const bars = buckets
    .map((b, i) => {
      const x = (i * w).toFixed(2);
      const bw = Math.max(w - 0.5, 0.5).toFixed(2);
      if (!b.checks) return '';
      if (b.down && !b.median_ms) {
        return `<rect class="down" x="${x}" y="0" width="${bw}" height="${height}"></rect>`;
      }
      const h = Math.max(1, Math.round(((b.median_ms || 0) / slowest) * (height - 2)));
      const cls = b.down ? 'partly-down' : 'up';
      return `<rect class="${cls}" x="${x}" y="${height - h}" width="${bw}" height="${h}"></rect>`;
    })
    .join('');
  const title = `Last ${summary.days} days: ${uptime}, ${summary.checks} checks` +
    (summary.median_ms == null ? '' : `, usually ${Math.round(summary.median_ms)} ms`);
  return (
    `<svg class="health-chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-label="${escape(title)}">` +
    `<title>${escape(title)}</title>${bars}</svg>`
  );
}
