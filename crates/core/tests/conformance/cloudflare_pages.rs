//! Cloudflare Pages direct upload against the emulator (`specs/cloudflare.md` §3).

use sitedrop_core::Platform;

use crate::fixture::PlatformSpec;

pub const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::CloudflarePages,
    upload_path: "/pages/assets/upload",
    emulator_platform: "cloudflare",
    token_var: "CLOUDFLARE_API_TOKEN",
    max_file_size: Some(25 * 1024 * 1024),
};

crate::conformance!(SPEC, network);
