//! relutui: train deep rectifier and tanh networks side by side and watch sparsity emerge
//! (Glorot, Bordes & Bengio, "Deep Sparse Rectifier Neural Networks", AISTATS 2011).
//!
//! The module tree is the architecture. One engine, one protocol, several front ends:
//!
//! ```text
//! engine      the networks and the trainer thread; knows no terminal and no clap
//!   │         nn (kernels per SIMD level) · data · evaluate · claims · live · pretrain
//!   │         trainer · checkpoint · config (checked run settings) · hyper · memory
//! protocol    the messages between the trainer and its front ends (Command, Update,
//!   │         Sample, EpochReport); protocol::wire is their form on the control socket
//! frontend    written once for every front end: signals, the run directory, JSON lines,
//!   │         the headless writer, the control socket's trainer side (bridge)
//! dashboard   the terminal front end: App (state, keys; no I/O), ui (one file per panel),
//!   │         history, theme, the terminal loop, attach / replay / ls
//! tools       commands built on the engine: bench, sweep, paper, plot
//! cli         the command line (clap only): one file per command (run, bench, plot,
//!             attach); the command's code takes its struct; main.rs parses, dispatches
//!             and is the one place that turns an error's exit_code() into an exit
//! os          what relutui asks of the operating system: locks, paths, stderr lines
//! ```
//!
//! A layer uses only the layers listed below it here, and `os`: the engine never sees the
//! protocol's wire form, a front end or a terminal. The one exception runs the other way:
//! the protocol's commands carry the checked values of `engine::config` (`LearningRate`,
//! `L1Penalty`), a leaf that imports nothing of the protocol, so that a command cannot hold
//! a value a flag would refuse.

pub mod engine;
pub mod protocol;

pub mod frontend;

pub mod dashboard;

pub mod tools;

pub mod cli;

pub mod os;
