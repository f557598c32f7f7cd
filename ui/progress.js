// What a running deploy looks like, folded from the engine's progress events (`Progress` in
// sitedrop-core, tagged by `event`). Pure: unit-tested in ui/tests/progress.test.js.

import { bytes, plural } from './format.js';

/** The steps a person sees, in order; the engine's phases map onto them. */
export const STEPS = [
  { id: 'scan', label: 'Look at your files', phases: ['scan', 'limits'] },
  { id: 'hash', label: 'Fingerprint them', phases: ['hash'] },
  { id: 'prepare', label: 'Ask which are new', phases: ['prepare'] },
  { id: 'upload', label: 'Upload', phases: ['upload'] },
  { id: 'finish', label: 'Publish', phases: ['finish', 'poll'] },
  { id: 'verify', label: 'Check the live site', phases: ['verify'] },
];

export function initial() {
  return {
    phase: null,
    label: 'Starting',
    scanned: null,
    scanning: null,
    hashing: null,
    uploading: null,
    processing: null,
    warnings: [],
    done: false,
  };
}

/** Folds one event into the state; returns a new state. Unknown events change nothing. */
export function reduce(state, event) {
  switch (event && event.event) {
    case 'phase':
      return {
        ...state,
        phase: event.phase,
        label: event.label,
        processing: null,
        done: event.phase === 'done',
      };
    case 'scanning':
      return { ...state, scanning: { files: event.files, bytes: event.bytes } };
    case 'scanned':
      return { ...state, scanned: { files: event.files, bytes: event.bytes, ignored: event.ignored, heldBack: event.held_back } };
    case 'hashing':
      return { ...state, hashing: pick(event) };
    case 'uploading':
      return { ...state, uploading: { ...pick(event), current: event.current || null } };
    case 'processing':
      return { ...state, processing: event.detail };
    case 'warning':
      return state.warnings.includes(event.message) ? state : { ...state, warnings: [...state.warnings, event.message] };
    default:
      return state;
  }
}

function pick(e) {
  return { filesDone: e.files_done, filesTotal: e.files_total, bytesDone: e.bytes_done, bytesTotal: e.bytes_total };
}

/** Where each step stands: "done", "active" or "todo". */
export function stepStates(state) {
  if (state.done) return STEPS.map(() => 'done');
  const at = STEPS.findIndex((s) => s.phases.includes(state.phase));
  return STEPS.map((_, i) => (at < 0 ? 'todo' : i < at ? 'done' : i === at ? 'active' : 'todo'));
}

/**
 * What the progress panel shows now: a fraction for the bar (null = indeterminate), the
 * counts line, and the file being sent.
 */
export function view(state) {
  const phase = state.phase;
  if (phase === 'upload' && state.uploading) {
    const u = state.uploading;
    if (u.filesTotal === 0) {
      return { fraction: 1, counts: 'Nothing new to upload: every file is already there.', current: null };
    }
    return {
      fraction: u.bytesTotal > 0 ? u.bytesDone / u.bytesTotal : u.filesDone / u.filesTotal,
      counts: `${u.filesDone.toLocaleString('en')} of ${plural(u.filesTotal, 'file')} · ${bytes(u.bytesDone)} of ${bytes(u.bytesTotal)}`,
      current: u.current,
    };
  }
  if (phase === 'hash' && state.hashing) {
    const h = state.hashing;
    return {
      fraction: h.bytesTotal > 0 ? h.bytesDone / h.bytesTotal : h.filesTotal ? h.filesDone / h.filesTotal : null,
      counts: `${h.filesDone.toLocaleString('en')} of ${plural(h.filesTotal, 'file')} · ${bytes(h.bytesDone)} of ${bytes(h.bytesTotal)}`,
      current: null,
    };
  }
  if (phase === 'scan' && state.scanning) {
    return { fraction: null, counts: `Found ${plural(state.scanning.files, 'file')} (${bytes(state.scanning.bytes)})`, current: null };
  }
  if (state.done) return { fraction: 1, counts: summaryLine(state), current: null };
  if (state.processing) return { fraction: null, counts: `${platformWord(state.processing)}`, current: null };
  return { fraction: null, counts: state.scanned ? summaryLine(state) : '', current: null };
}

function platformWord(detail) {
  return `The platform says: ${detail}`;
}

function summaryLine(state) {
  const s = state.scanned;
  if (!s) return '';
  const sent = state.uploading ? `, ${plural(state.uploading.filesDone, 'file')} uploaded (${bytes(state.uploading.bytesDone)})` : '';
  return `${plural(s.files, 'file')}, ${bytes(s.bytes)}${sent}`;
}
