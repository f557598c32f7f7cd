// Small pure helpers that turn numbers into words people read. No DOM, no Tauri: unit-tested
// under Node (ui/tests/format.test.js).

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/**
 * 1536 -> "1.5 KB", 0 -> "0 bytes". Binary multiples, so sizes match the numbers in the
 * engine's messages ("accepts files up to 25 MiB"), with the labels people know.
 */
export function bytes(n) {
  let value = Number(n) || 0;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} ${value === 1 ? 'byte' : 'bytes'}`;
  const shown = value >= 100 ? value.toFixed(0) : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${UNITS[unit]}`;
}

/** "1 file", "3 files". */
export function plural(n, one, many = `${one}s`) {
  return `${Number(n).toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** A duration in ms as people say it: "0.4 s", "12 s", "2 min 5 s", "1 h 3 min". */
export function duration(ms) {
  if (ms == null || ms < 0) return '–';
  if (ms < 1000) return `${Math.max(0.1, ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** A stopwatch: 65000 -> "1:05". */
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const pad = (x) => String(x).padStart(2, '0');
  return h ? `${h}:${pad(m % 60)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** "14:05" in the person's own time zone. */
export function timeOfDay(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** How long ago: "just now", "5 minutes ago", "yesterday at 14:05", "3 Nov at 09:12". */
export function ago(ms, now = Date.now()) {
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'a minute ago' : `${m} minutes ago`;
  const then = new Date(ms);
  const today = new Date(now);
  const sameDay = then.toDateString() === today.toDateString();
  const h = Math.round(m / 60);
  if (sameDay) return h === 1 ? 'an hour ago' : `${h} hours ago`;
  const yesterday = new Date(now - 86_400_000);
  if (then.toDateString() === yesterday.toDateString()) return `yesterday at ${timeOfDay(ms)}`;
  const month = then.toLocaleString('en', { month: 'short' });
  const year = then.getFullYear() === today.getFullYear() ? '' : ` ${then.getFullYear()}`;
  return `${then.getDate()} ${month}${year} at ${timeOfDay(ms)}`;
}

/** The last part of a path: "/home/ann/blog/" -> "blog". */
export function baseName(path) {
  const parts = String(path).split(/[\\/]+/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : String(path);
}

/** The folder holding a path: "/home/ann/blog/index.html" -> "/home/ann/blog". */
export function parentPath(path) {
  const trimmed = String(path).replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut > 0 ? trimmed.slice(0, cut) : trimmed.slice(0, cut + 1) || trimmed;
}
