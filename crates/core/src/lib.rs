//! sitedrop-core
