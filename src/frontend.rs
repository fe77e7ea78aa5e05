//! What every front end (the dashboard, the headless writer, the control socket) shares:
//! signals, the run directory, the JSON-lines log, and the headless writer itself.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`signals`] | early signal handlers and the one signal listener |
//! | [`run_dir`] | the run directory: meta, log, checkpoint, control socket |
//! | [`jsonl`] | the JSON-lines log writer |
//! | [`headless`] | the headless front end |
//! | [`bridge`] | the trainer side of the control socket |
//! | [`runtime`] | how a run ended, the one front-end error type, exit codes |

pub mod bridge;
pub mod headless;
pub mod jsonl;
pub mod run_dir;
pub mod runtime;
pub mod signals;
