//! sitedrop-emulator: a local twin of the five platforms (filled by issue 3).
