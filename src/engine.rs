//! The engine: networks, data, measurements and the trainer thread that owns them. It knows
//! no terminal and no clap; front ends drive it through [`crate::protocol`].
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`nn`] | the MLP, its workspace, the kernels per SIMD level, activations and loss |
//! | [`data`] | the datasets and their readers (IDX, CIFAR-10) |
//! | [`evaluate`] | error rates and per-layer sparsity, dead and saturated units |
//! | [`claims`] | the paper's four claims, measured on the claims subset |
//! | [`live`] | the running sparsity on the training batches |
//! | [`pretrain`] | denoising auto-encoders for greedy layer-wise pre-training |
//! | [`trainer`] | the trainer thread: lockstep networks, commands, epoch end |
//! | [`checkpoint`] | the checkpoint format and its atomic file |
//! | [`config`] | checked run settings |
//! | [`hyper`] | per-network learning rates and L1 penalties, model selection |
//! | [`memory`] | what a run will need in memory, before it allocates |

pub mod checkpoint;
pub mod claims;
pub mod config;
pub mod data;
pub mod evaluate;
pub mod hyper;
pub mod live;
pub mod memory;
pub mod nn;
pub mod pretrain;
pub mod trainer;
