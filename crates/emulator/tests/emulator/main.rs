//! Integration tests of `sitedrop-emulator`, one binary: every flow is driven with plain
//! HTTP requests written from `shared/specs/`, never through Sitedrop's client code.

mod amplify;
mod amplify_auth;
mod binary;
mod cloudflare_accounts;
mod cloudflare_pages;
mod cloudflare_workers;
mod common;
mod control;
mod netlify;
mod netlify_drop;
mod sigv4_vectors;
mod tls;
mod vercel;
