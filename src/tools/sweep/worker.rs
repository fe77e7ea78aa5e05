//! Running a sweep in this process: worker threads that each train runs headless and tell
//! the writer, which writes their JSON lines in order, shows progress and collects results.

use super::*;

/// What the workers tell the writer.
pub(super) enum Msg {
    Epoch(usize, Box<EpochReport>),
    Done(usize, f64),
    Failed,
}

/// Trains one run to its last epoch, forwarding every report. `false` when the writer is gone.
pub(super) fn train_run(
    config: &RunConfig,
    splits: Splits,
    index: usize,
    tx: &Sender<Msg>,
) -> bool {
    let t0 = Instant::now();
    let trainer = Trainer::new(config, splits).without_samples();
    let Ok(handle) = trainer::spawn(trainer) else {
        let _ = tx.send(Msg::Failed);
        return false;
    };
    let mut ok = true;
    for update in &handle.updates {
        match update {
            Update::Epoch(r) => ok = tx.send(Msg::Epoch(index, Box::new(r))).is_ok(),
            Update::State(RunState::Done) => break,
            _ => {}
        }
        if !ok {
            break;
        }
    }
    if handle.stop().is_err() {
        let _ = tx.send(Msg::Failed);
        return false;
    }
    ok && tx
        .send(Msg::Done(index, t0.elapsed().as_secs_f64()))
        .is_ok()
}

/// Runs the whole sweep on `splits`, writing JSON lines and then the summary to `out`.
/// Returns the finished runs in plan order. A closed `out` ends the sweep quietly.
pub fn execute<W: Write>(
    args: &SweepArgs,
    splits: &Splits,
    mut out: W,
) -> Result<Vec<RunResult>, SweepError> {
    let runs = plan(&args.l1.0, args.repeats, args.seed);
    let mut files: Vec<Option<JsonLines<io::BufWriter<fs::File>>>> = Vec::new();
    if let Some(dir) = &args.out_dir {
        let err = |source| SweepError::OutDir {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(dir).map_err(err)?;
        // The same plan as --plan's, so that --collect reads this folder too.
        plan::write_manifest(&plan::manifest(args, dir), dir).map_err(err)?;
        for spec in &runs {
            files.push(Some(JsonLines::create(&run_file(dir, spec)).map_err(err)?));
        }
    }
    let t0 = Instant::now();
    let jobs = args.jobs(runs.len());
    let (job_tx, job_rx) = unbounded::<RunSpec>();
    for spec in &runs {
        job_tx.send(*spec).expect("the queue is open");
    }
    drop(job_tx);
    let (tx, rx) = unbounded::<Msg>();
    let mut workers = Vec::with_capacity(jobs);
    for w in 0..jobs {
        let (job_rx, tx) = (job_rx.clone(), tx.clone());
        let (args, splits) = (args.clone(), splits.clone());
        let worker = std::thread::Builder::new()
            .name(format!("sweep-{w}"))
            .spawn(move || {
                for spec in &job_rx {
                    // Every spec's values were checked by `--l1`'s parser.
                    let Ok(config) = args.config(&spec) else {
                        break;
                    };
                    if !train_run(&config, splits.clone(), spec.index, &tx) {
                        break;
                    }
                }
            })
            .map_err(SweepError::Spawn)?;
        workers.push(worker);
    }
    drop(tx);

    let bar = progress_bar(runs.len());
    let mut last: Vec<Option<(EpochReport, f64)>> = vec![None; runs.len()];
    let mut finished = 0;
    let mut result = Ok(());
    let mut stdout_open = true;
    for msg in &rx {
        match msg {
            Msg::Epoch(i, report) => {
                let written = match files.get_mut(i).and_then(Option::as_mut) {
                    Some(f) => f.write(&report).map_err(|source| SweepError::OutDir {
                        path: run_file(args.out_dir.as_deref().unwrap_or(Path::new(".")), &runs[i]),
                        source,
                    }),
                    None => write_line(&mut out, &report, &mut stdout_open),
                };
                if let Err(e) = written {
                    result = Err(e);
                    break;
                }
                if !stdout_open {
                    break;
                }
                last[i] = Some((*report, 0.0));
            }
            Msg::Done(i, secs) => {
                finished += 1;
                if let Some((r, s)) = last[i].as_mut() {
                    *s = secs;
                    let line = format!(
                        "sweep: run {finished}/{} done in {secs:.0} s: l1 {} seed {}: sparsity {:.1} %, test error {:.2} %",
                        runs.len(),
                        runs[i].l1,
                        runs[i].seed,
                        mean(&r.sparsity) * 100.0,
                        r.test_error * 100.0
                    );
                    match &bar {
                        Some(b) => {
                            b.println(line);
                            b.inc(1);
                        }
                        None => eprintln!("{line}"),
                    }
                }
            }
            Msg::Failed => {
                result = Err(SweepError::Panicked);
                break;
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Closing the channel stops the workers after their current epoch.
    drop(rx);
    let mut panicked = false;
    for w in workers {
        panicked |= w.join().is_err();
    }
    result?;
    if panicked {
        return Err(SweepError::Panicked);
    }
    let results: Vec<RunResult> = runs
        .iter()
        .zip(last)
        .filter_map(|(spec, l)| {
            l.map(|(last, seconds)| RunResult {
                spec: *spec,
                last,
                seconds,
            })
        })
        .collect();
    if stdout_open {
        let secs = t0.elapsed().as_secs_f64();
        let mut text = summary(args, &results, splits.classes, secs, jobs);
        if let Some(dir) = &args.out_dir {
            text.push_str(&write_figure(dir, &results, args.epochs));
        }
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(SweepError::Stdout(e)),
            _ => {}
        }
    }
    Ok(results)
}

/// A bar of finished runs with an ETA on stderr, only when stderr is a terminal.
pub(super) fn progress_bar(runs: usize) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(runs as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "sweep {bar:30} {pos}/{len} runs, {elapsed} elapsed, eta {eta}",
        )
        .expect("a valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_secs(1));
    Some(bar)
}

/// Writes one JSON line to stdout; a broken pipe just closes it.
pub(super) fn write_line<W: Write>(
    out: &mut W,
    r: &EpochReport,
    open: &mut bool,
) -> Result<(), SweepError> {
    if !*open {
        return Ok(());
    }
    let line = serde_json::to_string(r).expect("reports serialise");
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            *open = false;
            Ok(())
        }
        Err(e) => Err(SweepError::Stdout(e)),
    }
}
