//! A tool's runs as a plan of plain commands, for the schedulers people already have. The
//! sweep and the paper command both plan this way.
//!
//! A plan is a list of runs, each a name and the flags of one self-contained `relutui
//! --headless ...` command that trains into its own run directory, `DIR/<name>/`
//! (`--run-dir DIR/<name> --continue`: run again, the same line goes on from the run
//! directory's checkpoint; a finished run trains nothing more). `--plan` prints the lines,
//! for `parallel -j N`, `parallel --sshloginfile hosts` (with DIR on a shared file system) or a
//! Slurm array whose task K runs `relutui <tool> --task K` with the same flags. Paths in the
//! lines are absolute, so that they work from any working directory.
//!
//! The plan is also written to `DIR/<tool>.json` (the [`Manifest`]), so that `--collect DIR`
//! knows the tool's flags, which runs to expect and how many epochs each should reach.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{plan, RunSpec, SweepArgs};
use crate::frontend::runtime::Error;

/// The name of the sweep's plan file in its folder.
pub const MANIFEST: &str = "sweep.json";

/// A run of the plan as written to the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// 1-based: the line number of `--plan`'s output, and `--task`'s argument.
    pub task: usize,
    /// Its run directory inside the plan's folder (`l1-0.001_seed-1`, `tanh_lr0.01`).
    #[serde(default)]
    pub name: String,
    pub command: String,
    /// Plans written before run directories: the log file inside the folder.
    #[serde(default, skip_serializing)]
    pub log: Option<String>,
}

/// `<tool>.json`: the tool's settings and its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sweep` or `paper`.
    #[serde(default = "sweep_tool")]
    pub tool: String,
    /// The `relutui <tool>` flags that make this plan again (and that `--collect` reads).
    #[serde(alias = "sweep_flags")]
    pub flags: Vec<String>,
    /// The most epochs a run trains.
    pub epochs: usize,
    pub runs: Vec<PlannedRun>,
}

fn sweep_tool() -> String {
    "sweep".into()
}

impl Manifest {
    /// The manifest of `runs` (name, flags after the program), in plan order.
    pub fn new(
        tool: &str,
        flags: Vec<String>,
        epochs: usize,
        program: &str,
        runs: &[(String, Vec<String>)],
    ) -> Self {
        let runs = runs
            .iter()
            .enumerate()
            .map(|(i, (name, argv))| PlannedRun {
                task: i + 1,
                name: name.clone(),
                command: command_line(program, argv),
                log: None,
            })
            .collect();
        Self {
            tool: tool.into(),
            flags,
            epochs,
            runs,
        }
    }

    /// The file it is kept in.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.tool)
    }
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

/// `p` made absolute (against the working directory), without resolving links.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The run directory of the run `name` in the plan's folder `dir`.
pub fn run_dir(dir: &Path, name: &str) -> PathBuf {
    absolute(dir).join(name)
}

/// The flags every plan line ends with: its own run directory, safe to run again.
pub fn run_dir_flags(dir: &Path, name: &str) -> [String; 3] {
    [
        "--run-dir".into(),
        run_dir(dir, name).display().to_string(),
        "--continue".into(),
    ]
}

/// One run's command line, quoted for a shell.
pub fn command_line(program: &str, argv: &[String]) -> String {
    std::iter::once(program)
        .chain(argv.iter().map(String::as_str))
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates `dir` and writes the manifest in it (atomically: a temporary file renamed over it,
/// since several `--task` processes may write the same plan at once).
pub fn write_manifest(m: &Manifest, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(m).expect("the manifest serialises");
    let name = m.file_name();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    fs::write(&tmp, text + "\n")?;
    fs::rename(&tmp, dir.join(name))
}

/// Reads `DIR/<tool>.json`.
pub fn read_manifest(dir: &Path, tool: &str) -> Result<Manifest, String> {
    let path = dir.join(format!("{tool}.json"));
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut m: Manifest = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a {tool} plan: {e}", path.display()))?;
    if m.tool != tool {
        return Err(format!(
            "{}: a plan of `relutui {}`, not of {tool}",
            path.display(),
            m.tool
        ));
    }
    // Older plans named each run by its log file.
    for r in &mut m.runs {
        if r.name.is_empty() {
            if let Some(log) = &r.log {
                r.name = log.strip_suffix(".jsonl").unwrap_or(log).to_string();
            }
        }
    }
    Ok(m)
}

/// `--plan`: writes the manifest in `dir` and prints the lines.
pub fn print_plan(m: &Manifest, dir: &Path, mut out: impl Write) -> Result<(), Error> {
    write_manifest(m, dir)
        .map_err(|e| Error::Usage(format!("--out-dir {}: {e}", dir.display())))?;
    let stdout = |e: io::Error| Error::Tool(format!("writing to stdout failed: {e}"));
    for r in &m.runs {
        match writeln!(out, "{}", r.command) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(stdout(e)),
            Ok(()) => {}
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(stdout(e)),
        _ => Ok(()),
    }
}

/// `--task K`: writes the manifest in `dir`, then becomes line K's relutui process (same pid,
/// so that a scheduler's signals reach the run itself), or says why it could not. `what`
/// names the plan's size for the message (`--l1 values × --repeats`).
pub fn exec_task(
    m: &Manifest,
    runs: &[(String, Vec<String>)],
    dir: &Path,
    k: usize,
    what: &str,
) -> Error {
    use std::os::unix::process::CommandExt;
    let Some((_, argv)) = k.checked_sub(1).and_then(|i| runs.get(i)) else {
        return Error::Usage(format!(
            "--task {k}: the plan has runs 1 to {} ({what})",
            runs.len()
        ));
    };
    if let Err(e) = write_manifest(m, dir) {
        return Error::Usage(format!("--out-dir {}: {e}", dir.display()));
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("relutui"));
    let err = std::process::Command::new(&exe).args(argv).exec();
    Error::Tool(format!("--task: cannot start {}: {err}", exe.display()))
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

/// The name of one sweep run: its run directory (and, in the in-process sweep, its log file
/// with `.jsonl`).
pub fn run_name(spec: &RunSpec) -> String {
    format!("l1-{}_seed-{}", spec.l1, spec.seed)
}

/// The arguments (after the program) of one sweep run's command, writing into `dir`.
pub fn run_args(args: &SweepArgs, spec: &RunSpec, dir: &Path) -> Vec<String> {
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
    ]);
    a.extend(run_dir_flags(dir, &run_name(spec)));
    a
}

/// The sweep's runs: each one's name and flags.
pub fn sweep_runs(args: &SweepArgs, dir: &Path) -> Vec<(String, Vec<String>)> {
    plan(&args.l1.0, args.repeats, args.seed)
        .iter()
        .map(|spec| (run_name(spec), run_args(args, spec, dir)))
        .collect()
}

/// The sweep's plan.
pub fn manifest(args: &SweepArgs, dir: &Path) -> Manifest {
    Manifest::new(
        "sweep",
        sweep_flags(args),
        args.epochs,
        &args.program,
        &sweep_runs(args, dir),
    )
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

    #[test]
    fn older_plans_still_read_and_name_runs_by_their_logs() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(MANIFEST),
            r#"{"sweep_flags":["--l1","0"],"epochs":3,"runs":[{"task":1,"l1":0.0,"seed":1,
            "log":"l1-0_seed-1.jsonl","checkpoint":"l1-0_seed-1.ckpt","command":"relutui x"}]}"#,
        )
        .unwrap();
        let m = read_manifest(dir.path(), "sweep").unwrap();
        assert_eq!((m.tool.as_str(), m.epochs), ("sweep", 3));
        assert_eq!(m.runs[0].name, "l1-0_seed-1");
        assert!(read_manifest(dir.path(), "paper").is_err());
    }
}
