//! Small helpers shared by every platform.

pub mod b64;
pub mod body;
pub mod ids;
pub mod req;
pub mod time;
