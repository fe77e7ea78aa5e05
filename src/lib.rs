//! relutui: train deep rectifier and tanh networks side by side and watch sparsity emerge
//! (Glorot, Bordes & Bengio, "Deep Sparse Rectifier Neural Networks", AISTATS 2011).
//!
//! One engine ([`train`]) drives two front ends: the terminal dashboard and the headless
//! JSON-lines writer ([`headless`]). They talk through the types in [`message`].

pub mod app;
pub mod attach;
pub mod bench;
pub mod bridge;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod headless;
pub mod history;
pub mod hyper;
pub mod jsonl;
pub mod live;
pub mod lock;
pub mod memory;
pub mod message;
pub mod metrics;
pub mod nn;
pub mod paper;
pub mod paths;
pub mod plot;
pub mod pretrain;
pub mod protocol;
pub mod run_dir;
pub mod say;
pub mod signals;
pub mod stats;
pub mod summary;
pub mod sweep;
pub mod theme;
pub mod train;
pub mod tui;
pub mod ui;
