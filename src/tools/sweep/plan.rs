//! The sweep as a plan of plain commands, for the schedulers people already have.
//!
//! `relutui sweep --plan --out-dir DIR` prints one self-contained `relutui` command per run,
//! in the order of [`super::plan`]. Each trains one rectifier network headless and writes its
//! own files in DIR: `l1-<L1>_seed-<SEED>.jsonl` (the log, the same name as the in-process
//! sweep's) and `.ckpt` (a checkpoint, so that a killed run can be resumed). The lines can be
//! fed to `parallel -j N`, to `parallel --sshloginfile hosts` (with DIR on a shared file
//! system) or to a Slurm array whose task K runs `relutui sweep --task K` with the same flags.
//! Paths in the lines are absolute, so that they work from any working directory.
//!
//! The plan is also written to `DIR/sweep.json`, so that `--collect DIR` knows which runs to
//! expect and how many epochs each should reach.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{plan, run_file, RunSpec, SweepArgs};

/// The name of the plan file in the sweep's folder.
pub const MANIFEST: &str = "sweep.json";

/// A run of the plan as written to `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// 1-based: the line number of `--plan`'s output, and `--task`'s argument.
    pub task: usize,
    pub l1: f32,
    pub seed: u64,
    /// File names inside the sweep's folder.
    pub log: String,
    pub checkpoint: String,
    pub command: String,
}

/// `sweep.json`: the sweep's settings and its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The `relutui sweep` flags that make this plan again (and that `--collect` reads).
    pub sweep_flags: Vec<String>,
    pub epochs: usize,
    pub runs: Vec<PlannedRun>,
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The checkpoint file of one run under `--out-dir`.
pub fn checkpoint_file(dir: &Path, spec: &RunSpec) -> PathBuf {
    run_file(dir, spec).with_extension("ckpt")
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The `relutui sweep` flags that describe the runs (not where they go or how many at once).
pub fn sweep_flags(args: &SweepArgs) -> Vec<String> {
    let l1: Vec<String> = args.l1.0.iter().map(ToString::to_string).collect();
    let hidden: Vec<String> = args.hidden.get().iter().map(ToString::to_string).collect();
    let mut f = vec![
        "--l1".into(),
        l1.join(","),
        "--repeats".into(),
        args.repeats.to_string(),
        "--epochs".into(),
        args.epochs.to_string(),
        "--hidden".into(),
        hidden.join(","),
        "--lr".into(),
        args.lr.to_string(),
        "--batch-size".into(),
        args.batch_size.to_string(),
        "--seed".into(),
        args.seed.to_string(),
        "--dataset".into(),
        args.dataset.name().to_string(),
    ];
    if let Some(d) = &args.data_dir {
        f.push("--data-dir".into());
        f.push(absolute(d).display().to_string());
    }
    f
}

/// The arguments (after the program) of one run's command, writing into `dir`.
pub fn run_args(args: &SweepArgs, spec: &RunSpec, dir: &Path) -> Vec<String> {
    let dir = absolute(dir);
    let hidden: Vec<String> = args.hidden.get().iter().map(ToString::to_string).collect();
    let mut a: Vec<String> = vec![
        "--headless".into(),
        "--activations".into(),
        "rectifier".into(),
        "--dataset".into(),
        args.dataset.name().into(),
    ];
    if let Some(d) = &args.data_dir {
        a.push("--data-dir".into());
        a.push(absolute(d).display().to_string());
    }
    a.extend([
        "--hidden".into(),
        hidden.join(","),
        "--batch-size".into(),
        args.batch_size.to_string(),
        "--lr".into(),
        args.lr.to_string(),
        "--l1".into(),
        spec.l1.to_string(),
        "--epochs".into(),
        args.epochs.to_string(),
        "--seed".into(),
        spec.seed.to_string(),
        "--log".into(),
        run_file(&dir, spec).display().to_string(),
        "--checkpoint".into(),
        checkpoint_file(&dir, spec).display().to_string(),
    ]);
    a
}

/// One run's command line, quoted for a shell.
pub fn command_line(program: &str, argv: &[String]) -> String {
    std::iter::once(program)
        .chain(argv.iter().map(String::as_str))
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plan: every run's spec and command line.
pub fn manifest(args: &SweepArgs, dir: &Path) -> Manifest {
    let runs = plan(&args.l1.0, args.repeats, args.seed)
        .iter()
        .map(|spec| PlannedRun {
            task: spec.index + 1,
            l1: spec.l1,
            seed: spec.seed,
            log: file_name(&run_file(dir, spec)),
            checkpoint: file_name(&checkpoint_file(dir, spec)),
            command: command_line(&args.program, &run_args(args, spec, dir)),
        })
        .collect();
    Manifest {
        sweep_flags: sweep_flags(args),
        epochs: args.epochs,
        runs,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// Creates `dir` and writes `sweep.json` in it (atomically: a temporary file renamed over it,
/// since several `--task` processes may write the same plan at once).
pub fn write_manifest(m: &Manifest, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(m).expect("the manifest serialises");
    let tmp = dir.join(format!(".{MANIFEST}.{}", std::process::id()));
    fs::write(&tmp, text + "\n")?;
    fs::rename(&tmp, dir.join(MANIFEST))
}

/// Reads `DIR/sweep.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a sweep plan: {e}", path.display()))
}

/// `--plan`: writes the manifest and prints the lines.
pub fn print_plan(args: &SweepArgs, dir: &Path, mut out: impl Write) -> Result<(), String> {
    let m = manifest(args, dir);
    write_manifest(&m, dir).map_err(|e| format!("--out-dir {}: {e}", dir.display()))?;
    for r in &m.runs {
        if let Err(e) = writeln!(out, "{}", r.command) {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(format!("writing to stdout failed: {e}"));
        }
    }
    out.flush()
        .or_else(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| format!("writing to stdout failed: {e}"))
}

/// `--task K`: the arguments of line K (1-based), after writing the manifest.
pub fn task_args(args: &SweepArgs, dir: &Path, k: usize) -> Result<Vec<String>, String> {
    let runs = plan(&args.l1.0, args.repeats, args.seed);
    let Some(spec) = k.checked_sub(1).and_then(|i| runs.get(i)) else {
        return Err(format!(
            "--task {k}: the plan has runs 1 to {} (--l1 values × --repeats)",
            runs.len()
        ));
    };
    write_manifest(&manifest(args, dir), dir)
        .map_err(|e| format!("--out-dir {}: {e}", dir.display()))?;
    Ok(run_args(args, spec, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_alone() {
        assert_eq!(shell_quote("--l1"), "--l1");
        assert_eq!(shell_quote("/a/b-1.jsonl"), "/a/b-1.jsonl");
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
