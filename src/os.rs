//! What relutui asks of the operating system, for every layer: advisory file locks
//! ([`lock`]), what a path may be replaced with ([`paths`]), and stderr lines that never
//! panic ([`say`]).

pub mod lock;
pub mod paths;
pub mod say;
