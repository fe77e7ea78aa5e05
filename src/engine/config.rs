//! Run settings, validated once into a checked type. The `parse_*` functions are the clap
//! value parsers, so a bad value fails at parse time with a message that names the flag.

use std::path::PathBuf;

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

/// Everything a training run needs, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    pub dataset: DatasetKind,
    pub data_dir: Option<PathBuf>,
    pub activations: Vec<Activation>,
    pub hidden: Vec<usize>,
    pub batch_size: usize,
    /// The learning rate of every network that `net_lr` does not name.
    pub lr: f32,
    /// The L1 penalty of every network that `net_l1` does not name.
    pub l1: f32,
    /// `None`: train until the front end quits.
    pub epochs: Option<usize>,
    pub seed: u64,
    /// Per-network learning rates by activation (`--lr rectifier=0.01,tanh=0.1`), over `lr`.
    pub net_lr: Vec<(Activation, f32)>,
    /// Per-network L1 penalties by activation, over `l1`.
    pub net_l1: Vec<(Activation, f32)>,
    /// `--patience N`: stop a network after N epochs without a better validation error.
    pub patience: Option<usize>,
}

impl RunConfig {
    /// The learning rate of the network with activation `act`.
    pub fn lr_for(&self, act: Activation) -> f32 {
        lookup(&self.net_lr, act).unwrap_or(self.lr)
    }

    /// The L1 penalty of the network with activation `act`.
    pub fn l1_for(&self, act: Activation) -> f32 {
        lookup(&self.net_l1, act).unwrap_or(self.l1)
    }
}

fn lookup(by: &[(Activation, f32)], act: Activation) -> Option<f32> {
    by.iter().rev().find(|(a, _)| *a == act).map(|&(_, v)| v)
}

/// The defaults of `--l1` by activation, as [`RunConfig::net_l1`] holds them: the paper's
/// 0.001 for the rectifier (the base value), none for the others.
pub fn default_net_l1() -> Vec<(Activation, f32)> {
    Activation::ALL
        .iter()
        .map(|&a| (a, crate::engine::hyper::default_l1(a)))
        .filter(|&(_, v)| v.to_bits() != DEFAULT_L1.to_bits())
        .collect()
}

/// The defaults of `--lr` on `dataset` by activation, as [`RunConfig::net_lr`] holds them.
pub fn default_net_lr(dataset: DatasetKind) -> Vec<(Activation, f32)> {
    Activation::ALL
        .iter()
        .map(|&a| (a, crate::engine::hyper::default_lr(dataset, a)))
        .collect()
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::Mnist10k,
            data_dir: None,
            activations: vec![Activation::Rectifier, Activation::Tanh],
            hidden: DEFAULT_HIDDEN.to_vec(),
            batch_size: DEFAULT_BATCH_SIZE,
            lr: DEFAULT_LR,
            l1: DEFAULT_L1,
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

/// `--lr`: a finite number above 0.
pub fn parse_lr(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("must be a finite number above 0, got {s}"));
    }
    Ok(v)
}

/// `--l1`: a finite number of at least 0.
pub fn parse_l1(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a finite number of at least 0, got {s}"));
    }
    Ok(v)
}

/// Hidden-layer widths, checked: `--hidden 1000,1000,1000`.
#[derive(Debug, Clone, PartialEq)]
pub struct Widths(pub Vec<usize>);

impl Widths {
    /// Parses and checks them as [`parse_hidden`] does (the clap value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_hidden(s).map(Widths)
    }
}

/// Activations, checked: `--activations rectifier,tanh`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations(pub Vec<Activation>);

impl Activations {
    /// Parses and checks them as [`parse_activations`] does (the clap value parser).
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_activations(s).map(Activations)
    }
}

/// `--hidden`: comma-separated widths, each between 1 and [`MAX_WIDTH`], at most
/// [`MAX_HIDDEN_LAYERS`] of them.
pub fn parse_hidden(s: &str) -> Result<Vec<usize>, String> {
    if s.trim().is_empty() {
        return Err("needs at least one width, e.g. 1000,1000,1000".into());
    }
    let layers = s.split(',').count();
    if layers > MAX_HIDDEN_LAYERS {
        return Err(format!(
            "{layers} hidden layers is above the limit {MAX_HIDDEN_LAYERS}"
        ));
    }
    s.split(',')
        .map(|w| {
            let w = w.trim();
            match w.parse::<usize>() {
                Ok(0) => Err("widths must be at least 1, got 0".to_string()),
                Ok(v) if v > MAX_WIDTH => Err(format!("width {v} is above the limit {MAX_WIDTH}")),
                Ok(v) => Ok(v),
                Err(_) if w.is_empty() => Err(format!("empty width in '{s}'")),
                Err(_) => Err(format!("'{w}' is not a width")),
            }
        })
        .collect()
}

/// `--activations`: comma-separated activation names, no repeats.
pub fn parse_activations(s: &str) -> Result<Vec<Activation>, String> {
    let mut out: Vec<Activation> = Vec::new();
    for part in s.split(',') {
        let act: Activation = part.parse()?;
        if out.contains(&act) {
            return Err(format!("'{act}' is listed twice"));
        }
        out.push(act);
    }
    Ok(out)
}

/// `--batch-size`: at least 1.
pub fn parse_batch_size(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
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
    fn l1_may_be_zero_but_not_negative() {
        assert_eq!(parse_l1("0"), Ok(0.0));
        assert!(parse_l1("-1e-3").is_err());
        assert!(parse_l1("NaN").is_err());
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
    }

    #[test]
    fn counts_and_dirs() {
        assert!(parse_batch_size("0").is_err());
        assert_eq!(parse_batch_size("10"), Ok(10));
        assert!(parse_epochs("0").is_err());
        assert!(parse_data_dir("/definitely/not/here").is_err());
        assert!(parse_data_dir("Cargo.toml")
            .unwrap_err()
            .contains("not a directory"));
    }
}
