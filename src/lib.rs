//! relutui: train deep rectifier and tanh networks side by side and watch sparsity emerge
//! (Glorot, Bordes & Bengio, "Deep Sparse Rectifier Neural Networks", AISTATS 2011).
//!
//! One engine ([`train`]) drives two front ends: the terminal dashboard and the headless
//! JSON-lines writer ([`headless`]). They talk through the types in [`message`].

pub mod app;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod headless;
pub mod history;
pub mod jsonl;
pub mod lock;
pub mod memory;
pub mod message;
pub mod metrics;
pub mod nn;
pub mod paths;
pub mod say;
pub mod signals;
pub mod stats;
pub mod sweep;
pub mod train;
pub mod tui;
pub mod ui;
