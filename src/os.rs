//! What relutui asks of the operating system, for every layer: the global allocator
//! ([`allocator`]: the system's, with freed large blocks kept for reuse), advisory file locks
//! ([`lock`]), the memory the machine has ([`memory`]), what a path may be replaced with
//! ([`paths`]), and stderr lines that never panic ([`say`]).

pub mod allocator;
pub mod lock;
pub mod memory;
pub mod paths;
pub mod say;
