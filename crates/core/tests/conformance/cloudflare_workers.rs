//! Cloudflare Workers static assets against the emulator (`specs/cloudflare.md` §4).

use sitedrop_core::Platform;

use crate::fixture::PlatformSpec;

pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::CloudflareWorkers,
    upload_path: "/workers/assets/upload",
    emulator_platform: "cloudflare",
    token_var: "CLOUDFLARE_API_TOKEN",
    max_file_size: Some(25 * 1024 * 1024),
};

crate::conformance!(SPEC, network);
