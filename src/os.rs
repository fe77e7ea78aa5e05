//! What relutui asks of the operating system, for every layer: advisory file locks
//! ([`lock`]), the memory the machine has ([`memory`]), what a path may be replaced with
//! ([`paths`]), and stderr lines that never panic ([`say`]).

pub mod lock;
pub mod memory;
pub mod paths;
pub mod say;
