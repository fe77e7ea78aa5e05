//! Run settings, validated once into checked types.
//!
//! Each hyper-parameter that can be wrong has a newtype whose one constructor holds its rule:
//! [`LearningRate`] (finite, above 0), [`L1Penalty`] (finite, at least 0), [`BatchSize`]
//! (1 to [`MAX_BATCH_SIZE`]), [`Widths`] (1 to [`MAX_HIDDEN_LAYERS`] layers of 1 to
//! [`MAX_WIDTH`] units) and [`Activations`] (at least one, no repeats). A [`RunConfig`] is
//! made of them, so it cannot hold a bad value. The same constructors serve every way a value
//! comes in: the clap value parsers (the `parse` functions, so a bad flag fails at parse time
//! with a message that names it), checkpoint decoding and the live commands of the dashboard
//! and of attached viewers.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::data::DatasetKind;
use crate::engine::nn::Activation;

/// The paper's learning-rate grid; the default was chosen on mnist10k from it (see README).
pub const LR_GRID: [f32; 4] = [0.1, 0.01, 0.001, 0.0001];
pub const DEFAULT_LR: f32 = 0.1;
/// The paper's L1 penalty on hidden activations (the rectifier's default; the others default
/// to none, see [`crate::engine::hyper::default_l1`]).
pub const DEFAULT_L1: f32 = crate::engine::hyper::PAPER_L1;
pub const DEFAULT_BATCH_SIZE: usize = 10;
pub const DEFAULT_HIDDEN: [usize; 3] = [1000, 1000, 1000];
/// Widths above this are refused: a 1,000,000-wide layer is a typo, not an experiment.
pub const MAX_WIDTH: usize = 100_000;
/// More hidden layers than this are refused (checkpoints rely on the bound).
pub const MAX_HIDDEN_LAYERS: usize = 64;
/// Batches above this are refused. It keeps batch × width × layers (the activations a step
/// holds) far from overflowing a `usize`, and is still far above what memory allows, so a
/// large batch that is not a typo meets the memory check, which names what it needs.
pub const MAX_BATCH_SIZE: usize = 1_000_000_000;

/// A value that breaks its rule. Its text is the rule, so each caller says what the value
/// was: clap names the flag, the checkpoint reader the field, the trainer the command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("must be a finite number above 0, got {0}")]
    LearningRate(f32),
    #[error("must be a finite number of at least 0, got {0}")]
    L1Penalty(f32),
    #[error("{}", batch_rule(*.0))]
    BatchSize(usize),
    #[error("needs at least one width, e.g. 1000,1000,1000")]
    NoWidths,
    #[error("{0} hidden layers is above the limit {MAX_HIDDEN_LAYERS}")]
    TooManyLayers(usize),
    #[error("{}", width_rule(*.0))]
    Width(usize),
    #[error("needs at least one activation, e.g. rectifier,tanh")]
    NoActivations,
    #[error("'{0}' is listed twice")]
    RepeatedActivation(Activation),
}

fn batch_rule(v: usize) -> String {
    if v == 0 {
        "must be at least 1".into()
    } else {
        format!("{v} is above the limit {MAX_BATCH_SIZE}")
    }
}

fn width_rule(v: usize) -> String {
    if v == 0 {
        "widths must be at least 1, got 0".into()
    } else {
        format!("width {v} is above the limit {MAX_WIDTH}")
    }
}

fn number(s: &str) -> Result<f32, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))
}

/// A learning rate: a finite number above 0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct LearningRate(f32);

impl LearningRate {
    /// The library's default, [`DEFAULT_LR`].
    pub const DEFAULT: Self = Self(DEFAULT_LR);

    /// The one place the rule is checked.
    pub fn new(v: f32) -> Result<Self, Invalid> {
        if v.is_finite() && v > 0.0 {
            Ok(Self(v))
        } else {
            Err(Invalid::LearningRate(v))
        }
    }

    /// `--lr`-style text, checked by [`LearningRate::new`] (the clap value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::new(number(s)?).map_err(|e| e.to_string())
    }

    pub const fn get(self) -> f32 {
        self.0
    }
}

/// An L1 penalty on hidden activations: a finite number of at least 0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct L1Penalty(f32);

impl L1Penalty {
    /// The library's default, [`DEFAULT_L1`].
    pub const DEFAULT: Self = Self(DEFAULT_L1);
    /// No penalty.
    pub const NONE: Self = Self(0.0);

    /// The one place the rule is checked.
    pub fn new(v: f32) -> Result<Self, Invalid> {
        if v.is_finite() && v >= 0.0 {
            Ok(Self(v))
        } else {
            Err(Invalid::L1Penalty(v))
        }
    }

    /// `--l1`-style text, checked by [`L1Penalty::new`] (the clap value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::new(number(s)?).map_err(|e| e.to_string())
    }

    pub const fn get(self) -> f32 {
        self.0
    }
}

impl fmt::Display for LearningRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for L1Penalty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Examples per mini-batch: 1 to [`MAX_BATCH_SIZE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BatchSize(usize);

impl BatchSize {
    /// The paper's 10, [`DEFAULT_BATCH_SIZE`].
    pub const DEFAULT: Self = Self(DEFAULT_BATCH_SIZE);

    /// The one place the rule is checked.
    pub fn new(v: usize) -> Result<Self, Invalid> {
        if (1..=MAX_BATCH_SIZE).contains(&v) {
            Ok(Self(v))
        } else {
            Err(Invalid::BatchSize(v))
        }
    }

    /// `--batch-size` text, checked by [`BatchSize::new`] (the clap value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        let v = s
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("'{s}' is not a whole number"))?;
        Self::new(v).map_err(|e| e.to_string())
    }

    pub const fn get(self) -> usize {
        self.0
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Hidden-layer widths: 1 to [`MAX_HIDDEN_LAYERS`] layers, each 1 to [`MAX_WIDTH`] wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths(Vec<usize>);

impl Widths {
    /// The one place the rule is checked.
    pub fn new(widths: Vec<usize>) -> Result<Self, Invalid> {
        if widths.is_empty() {
            return Err(Invalid::NoWidths);
        }
        if widths.len() > MAX_HIDDEN_LAYERS {
            return Err(Invalid::TooManyLayers(widths.len()));
        }
        if let Some(&w) = widths.iter().find(|&&w| !(1..=MAX_WIDTH).contains(&w)) {
            return Err(Invalid::Width(w));
        }
        Ok(Self(widths))
    }

    /// `--hidden 1000,1000,1000`: comma-separated widths, checked by [`Widths::new`] (the clap
    /// value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err(Invalid::NoWidths.to_string());
        }
        let layers = s.split(',').count();
        if layers > MAX_HIDDEN_LAYERS {
            return Err(Invalid::TooManyLayers(layers).to_string());
        }
        let widths = s
            .split(',')
            .map(|w| {
                let w = w.trim();
                match w.parse::<usize>() {
                    Ok(v) => Ok(v),
                    Err(_) if w.is_empty() => Err(format!("empty width in '{s}'")),
                    Err(_) => Err(format!("'{w}' is not a width")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(widths).map_err(|e| e.to_string())
    }

    pub fn get(&self) -> &[usize] {
        &self.0
    }
}

impl Default for Widths {
    fn default() -> Self {
        Self(DEFAULT_HIDDEN.to_vec())
    }
}

/// The networks to train in lockstep: at least one activation, none twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activations(Vec<Activation>);

impl Activations {
    /// The one place the rule is checked.
    pub fn new(acts: Vec<Activation>) -> Result<Self, Invalid> {
        if acts.is_empty() {
            return Err(Invalid::NoActivations);
        }
        for (i, a) in acts.iter().enumerate() {
            if acts[..i].contains(a) {
                return Err(Invalid::RepeatedActivation(*a));
            }
        }
        Ok(Self(acts))
    }

    /// `--activations rectifier,tanh`: comma-separated names, checked by
    /// [`Activations::new`] (the clap value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        let acts = s
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<Activation>, String>>()?;
        Self::new(acts).map_err(|e| e.to_string())
    }

    pub fn get(&self) -> &[Activation] {
        &self.0
    }
}

impl Default for Activations {
    fn default() -> Self {
        Self(vec![Activation::Rectifier, Activation::Tanh])
    }
}

/// Everything a training run needs, already validated: every field is private and each
/// setter takes a checked type, so a `RunConfig` cannot hold a bad value.
///
/// ```
/// use relutui::engine::config::{BatchSize, LearningRate, RunConfig, Widths};
/// let c = RunConfig::default()
///     .with_hidden(Widths::new(vec![32, 16]).unwrap())
///     .with_batch_size(BatchSize::new(20).unwrap())
///     .with_lr(LearningRate::new(0.05).unwrap());
/// assert_eq!((c.hidden(), c.batch_size(), c.lr()), (&[32, 16][..], 20, 0.05));
/// assert!(BatchSize::new(0).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    dataset: DatasetKind,
    data_dir: Option<PathBuf>,
    activations: Activations,
    hidden: Widths,
    batch_size: BatchSize,
    /// The learning rate of every network that `net_lr` does not name.
    lr: LearningRate,
    /// The L1 penalty of every network that `net_l1` does not name.
    l1: L1Penalty,
    /// `None`: train until the front end quits.
    epochs: Option<usize>,
    seed: u64,
    /// Per-network learning rates by activation (`--lr rectifier=0.01,tanh=0.1`), over `lr`.
    net_lr: Vec<(Activation, LearningRate)>,
    /// Per-network L1 penalties by activation, over `l1`.
    net_l1: Vec<(Activation, L1Penalty)>,
    /// `--patience N`: stop a network after N epochs without a better validation error.
    patience: Option<usize>,
}

impl RunConfig {
    pub fn dataset(&self) -> DatasetKind {
        self.dataset
    }

    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// The networks' activations, in network order.
    pub fn activations(&self) -> &[Activation] {
        self.activations.get()
    }

    pub fn hidden(&self) -> &[usize] {
        self.hidden.get()
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size.get()
    }

    /// The learning rate of every network that [`RunConfig::net_lr`] does not name.
    pub fn lr(&self) -> f32 {
        self.lr.get()
    }

    /// The L1 penalty of every network that [`RunConfig::net_l1`] does not name.
    pub fn l1(&self) -> f32 {
        self.l1.get()
    }

    /// `None`: train until the front end quits.
    pub fn epochs(&self) -> Option<usize> {
        self.epochs
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Learning rates by activation, over [`RunConfig::lr`]; a later entry wins.
    pub fn net_lr(&self) -> &[(Activation, LearningRate)] {
        &self.net_lr
    }

    /// L1 penalties by activation, over [`RunConfig::l1`]; a later entry wins.
    pub fn net_l1(&self) -> &[(Activation, L1Penalty)] {
        &self.net_l1
    }

    /// Stop a network after this many epochs without a better validation error.
    pub fn patience(&self) -> Option<usize> {
        self.patience
    }

    /// The learning rate of the network with activation `act`.
    pub fn lr_for(&self, act: Activation) -> f32 {
        lookup(&self.net_lr, act).unwrap_or(self.lr).get()
    }

    /// The L1 penalty of the network with activation `act`.
    pub fn l1_for(&self, act: Activation) -> f32 {
        lookup(&self.net_l1, act).unwrap_or(self.l1).get()
    }

    #[must_use]
    pub fn with_dataset(mut self, dataset: DatasetKind) -> Self {
        self.dataset = dataset;
        self
    }

    #[must_use]
    pub fn with_data_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.data_dir = dir;
        self
    }

    #[must_use]
    pub fn with_activations(mut self, acts: Activations) -> Self {
        self.activations = acts;
        self
    }

    #[must_use]
    pub fn with_hidden(mut self, hidden: Widths) -> Self {
        self.hidden = hidden;
        self
    }

    #[must_use]
    pub fn with_batch_size(mut self, batch: BatchSize) -> Self {
        self.batch_size = batch;
        self
    }

    #[must_use]
    pub fn with_lr(mut self, lr: LearningRate) -> Self {
        self.lr = lr;
        self
    }

    #[must_use]
    pub fn with_l1(mut self, l1: L1Penalty) -> Self {
        self.l1 = l1;
        self
    }

    #[must_use]
    pub fn with_epochs(mut self, epochs: Option<usize>) -> Self {
        self.epochs = epochs;
        self
    }

    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    #[must_use]
    pub fn with_net_lr(mut self, by: Vec<(Activation, LearningRate)>) -> Self {
        self.net_lr = by;
        self
    }

    #[must_use]
    pub fn with_net_l1(mut self, by: Vec<(Activation, L1Penalty)>) -> Self {
        self.net_l1 = by;
        self
    }

    #[must_use]
    pub fn with_patience(mut self, patience: Option<usize>) -> Self {
        self.patience = patience;
        self
    }
}

fn lookup<T: Copy>(by: &[(Activation, T)], act: Activation) -> Option<T> {
    by.iter().rev().find(|(a, _)| *a == act).map(|&(_, v)| v)
}

/// The defaults of `--l1` by activation, as [`RunConfig::net_l1`] holds them: the paper's
/// 0.001 for the rectifier (the base value), none for the others.
pub fn default_net_l1() -> Vec<(Activation, L1Penalty)> {
    Activation::ALL
        .iter()
        .map(|&a| (a, crate::engine::hyper::default_l1(a)))
        .filter(|&(_, v)| v.to_bits() != DEFAULT_L1.to_bits())
        // The defaults are the paper's constants; `defaults_keep_the_rules` checks them.
        .map(|(a, v)| (a, L1Penalty(v)))
        .collect()
}

/// The defaults of `--lr` on `dataset` by activation, as [`RunConfig::net_lr`] holds them.
pub fn default_net_lr(dataset: DatasetKind) -> Vec<(Activation, LearningRate)> {
    Activation::ALL
        .iter()
        .map(|&a| {
            (
                a,
                LearningRate(crate::engine::hyper::default_lr(dataset, a)),
            )
        })
        .collect()
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::Mnist10k,
            data_dir: None,
            activations: Activations::default(),
            hidden: Widths::default(),
            batch_size: BatchSize::DEFAULT,
            lr: LearningRate::DEFAULT,
            l1: L1Penalty::DEFAULT,
            epochs: None,
            seed: 1,
            // The library's default is one plain value for all; the command line's defaults
            // are per activation (see `cli::RunArgs::to_config`).
            net_lr: Vec::new(),
            net_l1: Vec::new(),
            patience: None,
        }
    }
}

/// `--lr`: a finite number above 0 ([`LearningRate`]'s rule), as a plain number.
pub fn parse_lr(s: &str) -> Result<f32, String> {
    LearningRate::parse(s).map(LearningRate::get)
}

/// `--l1`: a finite number of at least 0 ([`L1Penalty`]'s rule), as a plain number.
pub fn parse_l1(s: &str) -> Result<f32, String> {
    L1Penalty::parse(s).map(L1Penalty::get)
}

/// `--hidden`: [`Widths`]' rule, as a plain list.
pub fn parse_hidden(s: &str) -> Result<Vec<usize>, String> {
    Widths::parse(s).map(|w| w.0)
}

/// `--activations`: [`Activations`]' rule, as a plain list.
pub fn parse_activations(s: &str) -> Result<Vec<Activation>, String> {
    Activations::parse(s).map(|a| a.0)
}

/// `--batch-size`: [`BatchSize`]'s rule, as a plain number.
pub fn parse_batch_size(s: &str) -> Result<usize, String> {
    BatchSize::parse(s).map(BatchSize::get)
}

/// `--epochs`: at least 1.
pub fn parse_epochs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// `--data-dir`: an existing directory.
pub fn parse_data_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if !p.exists() {
        return Err(format!("{s} does not exist"));
    }
    if !p.is_dir() {
        return Err(format!("{s} is not a directory"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_must_be_positive_and_finite() {
        assert_eq!(parse_lr("0.01"), Ok(0.01));
        for bad in ["0", "-0.1", "nan", "inf", "abc", ""] {
            assert!(parse_lr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn learning_rate_edges() {
        let tiny = f32::from_bits(1); // the smallest number above 0
        assert_eq!(LearningRate::new(tiny).map(LearningRate::get), Ok(tiny));
        assert_eq!(
            LearningRate::new(f32::MAX).map(LearningRate::get),
            Ok(f32::MAX)
        );
        for bad in [0.0, -0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let e = LearningRate::new(bad).unwrap_err();
            assert!(e.to_string().contains("above 0"), "{bad}: {e}");
        }
    }

    #[test]
    fn l1_may_be_zero_but_not_negative() {
        assert_eq!(parse_l1("0"), Ok(0.0));
        assert!(parse_l1("-1e-3").is_err());
        assert!(parse_l1("NaN").is_err());
        assert_eq!(L1Penalty::new(0.0).map(L1Penalty::get), Ok(0.0));
        assert_eq!(L1Penalty::new(f32::MAX).map(L1Penalty::get), Ok(f32::MAX));
        for bad in [-f32::from_bits(1), -1.0, f32::NAN, f32::INFINITY] {
            let e = L1Penalty::new(bad).unwrap_err();
            assert!(e.to_string().contains("at least 0"), "{bad}: {e}");
        }
    }

    #[test]
    fn batch_size_edges() {
        assert_eq!(BatchSize::new(1).map(BatchSize::get), Ok(1));
        assert_eq!(
            BatchSize::new(MAX_BATCH_SIZE).map(BatchSize::get),
            Ok(MAX_BATCH_SIZE)
        );
        assert_eq!(BatchSize::new(0), Err(Invalid::BatchSize(0)));
        assert!(BatchSize::new(MAX_BATCH_SIZE + 1)
            .unwrap_err()
            .to_string()
            .contains("above the limit"));
        assert!(parse_batch_size("0").is_err());
        assert!(parse_batch_size(&(1usize << 62).to_string()).is_err());
        assert_eq!(parse_batch_size("10"), Ok(10));
    }

    #[test]
    fn widths_edges() {
        assert!(Widths::new(vec![1]).is_ok());
        assert!(Widths::new(vec![MAX_WIDTH; MAX_HIDDEN_LAYERS]).is_ok());
        assert_eq!(Widths::new(vec![]), Err(Invalid::NoWidths));
        assert_eq!(Widths::new(vec![5, 0]), Err(Invalid::Width(0)));
        assert_eq!(
            Widths::new(vec![MAX_WIDTH + 1]),
            Err(Invalid::Width(MAX_WIDTH + 1))
        );
        assert_eq!(
            Widths::new(vec![1; MAX_HIDDEN_LAYERS + 1]),
            Err(Invalid::TooManyLayers(MAX_HIDDEN_LAYERS + 1))
        );
    }

    #[test]
    fn hidden_widths() {
        assert_eq!(parse_hidden("1000,1000,1000"), Ok(vec![1000; 3]));
        assert_eq!(parse_hidden(" 32 , 16"), Ok(vec![32, 16]));
        assert!(parse_hidden(&vec!["1"; MAX_HIDDEN_LAYERS + 1].join(","))
            .unwrap_err()
            .contains("hidden layers"));
        for bad in ["", "100,0", "100,,100", "x", "1000000"] {
            assert!(parse_hidden(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn activations_list() {
        assert_eq!(
            parse_activations("relu,tanh"),
            Ok(vec![Activation::Rectifier, Activation::Tanh])
        );
        assert!(parse_activations("relu,rectifier").is_err());
        assert!(parse_activations("relu,swish")
            .unwrap_err()
            .contains("swish"));
        assert_eq!(Activations::new(vec![]), Err(Invalid::NoActivations));
    }

    #[test]
    fn defaults_keep_the_rules() {
        let c = RunConfig::default();
        assert!(LearningRate::new(c.lr()).is_ok());
        assert!(L1Penalty::new(c.l1()).is_ok());
        assert!(BatchSize::new(c.batch_size()).is_ok());
        assert!(Widths::new(c.hidden().to_vec()).is_ok());
        for d in DatasetKind::ALL {
            for (_, lr) in default_net_lr(d) {
                assert!(LearningRate::new(lr.get()).is_ok());
            }
        }
        for (_, l1) in default_net_l1() {
            assert!(L1Penalty::new(l1.get()).is_ok());
        }
        for lr in LR_GRID {
            assert!(LearningRate::new(lr).is_ok());
        }
    }

    #[test]
    fn counts_and_dirs() {
        assert!(parse_epochs("0").is_err());
        assert!(parse_data_dir("/definitely/not/here").is_err());
        assert!(parse_data_dir("Cargo.toml")
            .unwrap_err()
            .contains("not a directory"));
    }
}
