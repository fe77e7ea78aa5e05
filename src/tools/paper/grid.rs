//! The protocol's runs: columns (without pre-training, and with `--pretrain N`) × activations
//! × the learning-rate grid, each a plain `relutui --headless ...` command line in its own run
//! directory, and the manifest (`OUT/paper.json`) that records them as a plan.

use std::path::{Path, PathBuf};

use crate::cli::paper::PaperArgs;
use crate::engine::hyper;
use crate::engine::nn::Activation;
use crate::frontend::run_dir;
use crate::tools::sweep::plan::{self, Manifest};

/// A column of the table: a name and the flags it adds to each of its runs' command lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Shown in the table and the JSON (`"no pre-training"`).
    pub name: String,
    /// Added to the run names (`""` for the plain column).
    pub suffix: String,
    pub flags: Vec<String>,
}

/// One planned run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// File stem in --out-dir, e.g. `rectifier_lr0.01`.
    pub name: String,
    pub column: usize,
    pub activation: Activation,
    pub lr: f32,
    pub l1: f32,
    /// The flags after the executable, without `--resume`.
    pub args: Vec<String>,
}

impl Run {
    /// Its JSON-lines log, in its run directory.
    pub fn log(&self, dir: &Path) -> PathBuf {
        plan::run_dir(dir, &self.name).join(run_dir::LOG)
    }
    /// Where the in-process command keeps its stderr.
    pub(super) fn stderr_file(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.err", self.name))
    }
}

/// The columns of the table: without pre-training, and with `--pretrain N` when asked.
pub fn columns(args: &PaperArgs) -> Vec<Column> {
    let mut cols = vec![Column {
        name: "no pre-training".into(),
        suffix: String::new(),
        flags: Vec::new(),
    }];
    if let Some(n) = args.pretrain {
        cols.push(Column {
            name: "pre-trained".into(),
            suffix: format!("_pretrain{n}"),
            flags: vec!["--pretrain".into(), n.to_string()],
        });
    }
    cols
}

/// Every run of the protocol, in order: column, activation, then the grid.
pub fn plan(args: &PaperArgs) -> Vec<Run> {
    let l1 = args.l1.clone().unwrap_or_default();
    let dir = &args.out_dir;
    let mut runs = Vec::new();
    for (c, col) in columns(args).iter().enumerate() {
        for &act in args.activations.get() {
            let l1 = l1.get(act).unwrap_or_else(|| hyper::default_l1(act));
            for &lr in &args.lr_grid.0 {
                let name = format!("{act}_lr{lr}{}", col.suffix);
                let mut a: Vec<String> = vec![
                    "--headless".into(),
                    "--dataset".into(),
                    args.dataset.name().into(),
                ];
                if let Some(d) = &args.data_dir {
                    a.extend(["--data-dir".into(), plan::absolute(d).display().to_string()]);
                }
                a.extend([
                    "--activations".into(),
                    act.name().into(),
                    "--hidden".into(),
                    args.hidden
                        .get()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    "--batch-size".into(),
                    args.batch_size.to_string(),
                    "--lr".into(),
                    lr.to_string(),
                    "--l1".into(),
                    l1.to_string(),
                    "--epochs".into(),
                    args.epochs.to_string(),
                    "--patience".into(),
                    args.patience.to_string(),
                    "--seed".into(),
                    args.seed.to_string(),
                ]);
                a.extend(col.flags.iter().cloned());
                a.extend(plan::run_dir_flags(dir, &name));
                runs.push(Run {
                    name,
                    column: c,
                    activation: act,
                    lr,
                    l1,
                    args: a,
                });
            }
        }
    }
    runs
}

/// The `relutui paper` flags that make the plan again (not where it goes or how many at once);
/// the L1 penalty resolved per activation.
pub fn paper_flags(args: &PaperArgs) -> Vec<String> {
    let join = |v: Vec<String>| v.join(",");
    let l1 = args.l1.clone().unwrap_or_default();
    let mut f = vec!["--dataset".to_string(), args.dataset.name().into()];
    if let Some(d) = &args.data_dir {
        f.extend(["--data-dir".into(), plan::absolute(d).display().to_string()]);
    }
    f.extend([
        "--activations".into(),
        join(
            args.activations
                .get()
                .iter()
                .map(|a| a.name().to_string())
                .collect(),
        ),
        "--lr-grid".into(),
        join(args.lr_grid.0.iter().map(ToString::to_string).collect()),
        "--l1".into(),
        join(
            args.activations
                .get()
                .iter()
                .map(|&a| format!("{a}={}", l1.get(a).unwrap_or_else(|| hyper::default_l1(a))))
                .collect(),
        ),
        "--epochs".into(),
        args.epochs.to_string(),
        "--patience".into(),
        args.patience.to_string(),
        "--hidden".into(),
        join(args.hidden.get().iter().map(ToString::to_string).collect()),
        "--batch-size".into(),
        args.batch_size.to_string(),
        "--seed".into(),
        args.seed.to_string(),
    ]);
    if let Some(n) = args.pretrain {
        f.extend(["--pretrain".into(), n.to_string()]);
    }
    f
}

/// The protocol as a plan: the same lines `--plan` prints and `--task K` runs.
pub fn manifest(args: &PaperArgs, runs: &[Run], program: &str) -> Manifest {
    let lines: Vec<(String, Vec<String>)> = runs
        .iter()
        .map(|r| (r.name.clone(), r.args.clone()))
        .collect();
    Manifest::new("paper", paper_flags(args), args.epochs, program, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::paper::tests::{args, Wrap};
    use clap::Parser;

    #[test]
    fn the_plan_is_the_grid_per_activation_with_the_papers_l1() {
        let a = args(&["--out-dir", "/tmp/x"]);
        let runs = plan(&a);
        assert_eq!(runs.len(), 12);
        assert_eq!(runs[0].name, "rectifier_lr0.1");
        assert_eq!(runs[5].name, "tanh_lr0.01");
        let l1s: Vec<f32> = runs.iter().step_by(4).map(|r| r.l1).collect();
        assert_eq!(l1s, vec![0.001, 0.0, 0.0]);
        let line = runs[5].args.join(" ");
        for want in [
            "--activations tanh",
            "--lr 0.01",
            "--l1 0",
            "--patience 8",
            "--run-dir /tmp/x/tanh_lr0.01 --continue",
        ] {
            assert!(line.contains(want), "{want}: {line}");
        }
        let a = args(&[
            "--lr-grid",
            "0.05",
            "--l1",
            "0.002",
            "--activations",
            "tanh",
        ]);
        let runs = plan(&a);
        assert_eq!(runs.len(), 1);
        assert!((runs[0].l1 - 0.002).abs() < 1e-9);
        assert!(Wrap::try_parse_from(["paper", "--lr-grid", "0.1,0.1"]).is_err());
    }

    #[test]
    fn the_flags_in_the_plan_make_the_same_plan_again() {
        let a = args(&["--out-dir", "/tmp/x", "--pretrain", "2", "--lr-grid", "0.1"]);
        let flags = paper_flags(&a);
        let again = Wrap::try_parse_from(
            ["paper".to_string()]
                .into_iter()
                .chain(flags)
                .chain(["--out-dir".into(), "/tmp/x".into()]),
        )
        .unwrap()
        .args;
        assert_eq!(plan(&again), plan(&a));
        assert_eq!(plan(&a).len(), 6);
    }
}
