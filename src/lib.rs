//! relutui: train deep rectifier and tanh networks side by side and watch sparsity emerge
//! (Glorot, Bordes & Bengio, "Deep Sparse Rectifier Neural Networks", AISTATS 2011).
//!
//! The module tree is the architecture. One engine, one protocol, several front ends:
//!
//! ```text
//! protocol    the messages between the trainer and its front ends (Command, Update,
//!   │         Sample, EpochReport); protocol::wire is their form on the control socket
//! engine      the networks and the trainer thread; knows no terminal and no clap
//!   │         nn (kernels per SIMD level) · data · evaluate · claims · live · pretrain
//!   │         trainer · checkpoint · config (checked run settings) · hyper · memory
//! frontend    written once for every front end: signals, the run directory, JSON lines,
//!   │         the headless writer, the control socket's trainer side (bridge)
//! cli         the command line (clap only): one file per command (run, bench, plot,
//!   │         attach, sweep, paper); the command's code takes its struct
//! dashboard   the terminal front end: App (state, keys; no I/O), ui (one file per panel),
//!   │         history, theme, the terminal loop, attach / replay / ls
//! tools       commands built on the engine: bench, sweep, paper, plot
//! os          what relutui asks of the operating system: locks, paths, stderr lines
//!
//! main.rs     parses, dispatches, and is the one place that turns an error's
//!             exit_code() into an exit
//! ```
//!
//! A layer uses only the layers listed above it here, and `os`: the trainer speaks the
//! protocol, the front ends drive the engine through it, the command line knows the front
//! ends' settings but not their code, and the tools use them all. Nothing uses `tools`, and
//! only `main.rs` uses everything. The one exception runs the other way: the protocol's
//! commands carry the checked values of `engine::config` (`LearningRate`, `L1Penalty`), which
//! uses nothing of the protocol or the trainer, so that a command cannot hold a value a flag
//! would refuse. The engine never sees the protocol's wire form, a front end or a terminal.

pub mod protocol;

pub mod engine;

pub mod frontend;

pub mod cli;

pub mod dashboard;

pub mod tools;

pub mod os;
