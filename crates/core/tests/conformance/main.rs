//! Provider conformance: every platform, the same behaviours, against the emulator.
//! `cargo test -p sitedrop-core --test conformance [platform::]`

mod fixture;
mod suite;
mod tls;

mod amplify;
mod cloudflare_pages;
mod cloudflare_workers;
mod local;
mod netlify;
mod netlify_drop;
mod vercel;
