//! Datasets: the embedded mnist10k, MNIST and Fashion-MNIST (IDX) and CIFAR-10 (binary),
//! split into train / validation / test with inputs scaled to [0, 1].
//!
//! | module | what it holds |
//! | --- | --- |
//! | this file | [`DatasetKind`], [`DataError`], [`load`] |
//! | [`dataset`] | [`Dataset`] (bytes, scaled on demand), [`InputBuffer`], [`Splits`] |
//! | [`mnist`] | the embedded mnist10k; MNIST and Fashion-MNIST from `--data-dir` |
//! | [`idx`] | the IDX file reader (raw or gzipped) |
//! | [`cifar`] | the CIFAR-10 binary reader, and CIFAR-10 from `--data-dir` |

pub mod cifar;
pub mod dataset;
pub mod idx;
pub mod mnist;

pub use dataset::{scale, Dataset, InputBuffer, Splits};
pub use mnist::mnist10k;

use std::fmt;
use std::path::Path;

/// Why a dataset could not be loaded. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{file}: cannot read: {reason}")]
    Io { file: String, reason: String },
    #[error("{file}: missing ({hint})")]
    Missing { file: String, hint: String },
    #[error("{file}: truncated: the file ends inside {what}")]
    Truncated { file: String, what: String },
    #[error("{file}: {problem}")]
    Format { file: String, problem: String },
}

impl DataError {
    pub(crate) fn io(file: &str, e: &std::io::Error) -> Self {
        DataError::Io {
            file: file.into(),
            reason: e.to_string(),
        }
    }
}

/// Which data to train on ([`DatasetKind::about`] says what each is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    /// 10,000 real MNIST digits built into the binary: 8,000 / 1,000 / 1,000.
    Mnist10k,
    /// MNIST IDX files from --data-dir: 50k / 10k / 10k.
    Mnist,
    /// Fashion-MNIST IDX files from --data-dir: 50k / 10k / 10k.
    FashionMnist,
    /// CIFAR-10 binary batches from --data-dir: 50k / 5k / 5k.
    Cifar10,
}

impl DatasetKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [DatasetKind; 4] = [
        DatasetKind::Mnist10k,
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Cifar10,
    ];

    /// What the kind is, in a line (the `--dataset` help).
    pub fn about(self) -> &'static str {
        match self {
            DatasetKind::Mnist10k => {
                "10,000 real MNIST digits built into the binary: 8,000 / 1,000 / 1,000"
            }
            DatasetKind::Mnist => "MNIST IDX files from --data-dir: 50k / 10k / 10k",
            DatasetKind::FashionMnist => "Fashion-MNIST IDX files from --data-dir: 50k / 10k / 10k",
            DatasetKind::Cifar10 => "CIFAR-10 binary batches from --data-dir: 50k / 5k / 5k",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist10k => "mnist10k",
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Cifar10 => "cifar10",
        }
    }

    pub fn needs_data_dir(self) -> bool {
        self != DatasetKind::Mnist10k
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Loads `kind`, reading files from `data_dir` for everything but the embedded mnist10k.
pub fn load(kind: DatasetKind, data_dir: Option<&Path>) -> Result<Splits, DataError> {
    let dir = || -> Result<&Path, DataError> {
        data_dir.ok_or_else(|| DataError::Missing {
            file: "--data-dir".into(),
            hint: format!("--dataset {kind} reads its files from --data-dir"),
        })
    };
    match kind {
        DatasetKind::Mnist10k => mnist10k(),
        DatasetKind::Mnist | DatasetKind::FashionMnist => {
            mnist::load_mnist_style(kind.name(), dir()?)
        }
        DatasetKind::Cifar10 => cifar::load_cifar10(dir()?),
    }
}
