//! "This computer" (no network: the fault tests do not apply).

use sitedrop_core::Platform;

use crate::fixture::PlatformSpec;

const SPEC: PlatformSpec = PlatformSpec {
    platform: Platform::Local,
    upload_path: "",
    emulator_platform: "",
    token_var: "",
    max_file_size: None,
    incremental: true,
    rollback: true,
    tls: false,
};

crate::conformance!(SPEC);
