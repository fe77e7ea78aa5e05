//! Commands built on the engine that run many trainings or read their results. They plan
//! work as plain `relutui` command lines and collect results from run directories.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`bench`](mod@bench) | `relutui bench`: the figure of record for training speed |
//! | [`sweep`] | `relutui sweep`: the Figure 3 sparsity sweep (plan, run, collect) |
//! | [`paper`] | `relutui paper`: the Table 1 protocol |
//! | [`plot`] | `relutui plot`: SVG figures from logs |

pub mod bench;
pub mod paper;
pub mod plot;
pub mod sweep;
