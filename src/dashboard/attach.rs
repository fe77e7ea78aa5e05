//! The front ends away from the trainer: `relutui attach` (the dashboard on a live run, over
//! its control socket), `relutui replay` (the dashboard on a finished or crashed run's log)
//! and `relutui ls` (the runs in a directory).
//!
//! An attached dashboard is the same [`App`] as the in-process one, fed the same messages
//! ([`crate::protocol::wire`] carries them): the run's whole history first, then live. `q` detaches
//! and the run goes on; `S` stops the run. Each viewer has its own focus, help and claims view.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, never, select, tick, unbounded, Receiver, Sender};
use signal_hook::consts::SIGTERM;

use crate::cli::attach::{AttachArgs, LsArgs, ReplayArgs};
use crate::dashboard::app::{App, Event, Mode};
use crate::dashboard::terminal::{self, TerminalGuard, FPS};
use crate::dashboard::ui;
use crate::engine::config;
use crate::frontend::run_dir::{self, RUNS};
use crate::frontend::runtime::{Error, Outcome};
use crate::frontend::signals::SignalListener;
use crate::protocol::wire::{
    self, ClientMessage, ServerMessage, Welcome, WireCommand, MAX_SERVER_FRAME, VERSION,
};
use crate::protocol::{Command, EpochReport, NetInfo, RunInfo, RunState, Sample, Update};

/// Which run directory `attach RUN` means: a directory that holds a run, or a name under
/// `runs/`; with no RUN, the newest running one under `runs/`.
fn resolve(run: Option<&Path>) -> Result<PathBuf, String> {
    match run {
        Some(p) if run_dir::is_run_dir(p) => Ok(p.to_path_buf()),
        Some(p) if run_dir::is_run_dir(&Path::new(RUNS).join(p)) => Ok(Path::new(RUNS).join(p)),
        Some(p) => Err(format!(
            "{}: not a run directory (no {} in it); `relutui ls` lists the runs",
            p.display(),
            run_dir::META
        )),
        None => run_dir::list(Path::new(RUNS))
            .ok()
            .and_then(|runs| {
                runs.into_iter()
                    .rev()
                    .find(|r| r.state == run_dir::RunState::Running)
            })
            .map(|r| r.path)
            .ok_or_else(|| {
                format!(
                    "no running run under {RUNS}/: name its directory (relutui attach DIR), \
                     or see `relutui ls DIR`"
                )
            }),
    }
}

/// A viewer's connection to a run, after a good handshake.
pub struct Connection {
    pub welcome: Welcome,
    pub updates: Receiver<Update>,
    pub samples: Receiver<Sample>,
    /// Commands for the run; dropping it (and [`Connection::close`]) detaches.
    pub commands: Sender<Command>,
    stream: UnixStream,
    reader: JoinHandle<()>,
}

impl Connection {
    /// Connects to the run in `dir` and says hello. The error is one line for a person.
    pub fn open(dir: &Path, read_only: bool) -> Result<Self, String> {
        let mut stream = run_dir::connect(dir).map_err(|e| {
            format!(
                "{}: cannot connect to its control socket ({e}): the run is not running \
                 (`relutui replay {}` shows its log)",
                dir.display(),
                dir.display()
            )
        })?;
        Self::handshake(&mut stream, read_only)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|welcome| Self::start(stream, welcome))
    }

    fn handshake(stream: &mut UnixStream, read_only: bool) -> Result<Welcome, String> {
        let io_err = |e: io::Error| format!("the control socket failed: {e}");
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .map_err(io_err)?;
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(io_err)?;
        // A run that refuses at once (another user) may have closed before the hello: its
        // answer is still there to read.
        let sent = wire::write_message(
            stream,
            &ClientMessage::Hello {
                version: VERSION,
                read_only,
            },
        );
        let wait = Duration::from_secs(10);
        let answer =
            wire::read_message_within::<ServerMessage>(stream, MAX_SERVER_FRAME, wait, Some(wait));
        if let (Err(e), Err(_)) = (&sent, &answer) {
            return Err(format!("the run did not take the hello: {e}"));
        }
        match answer {
            Ok(ServerMessage::Welcome(w)) => Ok(w),
            Ok(ServerMessage::Refused {
                server_version,
                client_version,
                reason,
            }) => Err(format!(
                "the run refused this viewer: {}",
                reason.explain(server_version, client_version)
            )),
            Ok(other) => Err(format!("the run answered the hello with {other:?}")),
            Err(wire::FrameError::Closed) => {
                Err("the run closed the connection without an answer".into())
            }
            Err(e) => Err(format!("no answer to the hello: {e}")),
        }
    }

    fn start(stream: UnixStream, welcome: Welcome) -> Result<Self, String> {
        let io_err = |e: io::Error| format!("the control socket failed: {e}");
        let mut input = stream.try_clone().map_err(io_err)?;
        // Between frames the run may be quiet for as long as it is paused.
        input.set_read_timeout(None).map_err(io_err)?;
        let mut output = stream.try_clone().map_err(io_err)?;
        let (update_tx, updates) = unbounded();
        let (sample_tx, samples) = bounded(2);
        let stale = samples.clone();
        let reader = thread::Builder::new()
            .name("attach-in".into())
            .spawn(move || loop {
                let msg = wire::read_message::<ServerMessage>(
                    &mut input,
                    MAX_SERVER_FRAME,
                    Duration::from_secs(60),
                );
                match msg {
                    Ok(ServerMessage::Update(u)) => {
                        if update_tx.send(u.into()).is_err() {
                            return;
                        }
                    }
                    Ok(ServerMessage::Sample(s)) => {
                        if let Err(crossbeam_channel::TrySendError::Full(s)) =
                            sample_tx.try_send(s.into())
                        {
                            let _ = stale.try_recv();
                            let _ = sample_tx.try_send(s);
                        }
                    }
                    Ok(_) | Err(_) => return,
                }
            })
            .map_err(io_err)?;
        let (commands, command_rx) = unbounded::<Command>();
        thread::Builder::new()
            .name("attach-out".into())
            .spawn(move || {
                for c in command_rx {
                    let Some(wire) = WireCommand::from_command(&c) else {
                        continue;
                    };
                    let msg = ClientMessage::Command(wire);
                    if wire::write_message(&mut output, &msg).is_err() {
                        return;
                    }
                }
            })
            .map_err(io_err)?;
        Ok(Self {
            welcome,
            updates,
            samples,
            commands,
            stream,
            reader,
        })
    }

    /// Detaches: the run goes on.
    pub fn close(self) {
        drop(self.commands);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        let _ = self.reader.join();
    }
}

/// `relutui attach`: 0 after a detach (or a stop), 128 + N after signal N.
pub fn attach(args: &AttachArgs) -> Result<Outcome, Error> {
    let dir = match resolve(args.run.as_deref()) {
        Ok(d) => d,
        Err(e) => return Err(Error::Usage(e)),
    };
    let conn = match Connection::open(&dir, args.read_only) {
        Ok(c) => c,
        Err(e) => return Err(Error::Usage(e)),
    };
    let mut app = App::new(terminal::colors_enabled());
    app.mode = Mode::Attached {
        read_only: args.read_only,
    };
    let name = dir.display().to_string();
    app.status = Some(if args.read_only {
        format!(
            "attached read-only to {name} (pid {}): q detaches",
            conn.welcome.pid
        )
    } else {
        format!(
            "attached to {name} (pid {}): q detaches, the run goes on; S stops the run",
            conn.welcome.pid
        )
    });
    // Ask for snapshots of this viewer's focus (another viewer may have moved the trainer's).
    let _ = conn.commands.send(Command::Focus { net: 0, layer: 0 });
    let source = Source {
        updates: conn.updates.clone(),
        samples: conn.samples.clone(),
        commands: Some(conn.commands.clone()),
    };
    let result = view(&mut app, source);
    conn.close();
    result
}

/// Where a viewer's messages come from, and where its commands go (none for a replay).
pub struct Source {
    pub updates: Receiver<Update>,
    pub samples: Receiver<Sample>,
    pub commands: Option<Sender<Command>>,
}

/// The dashboard away from the trainer, until `q` or a signal. When the run's messages stop
/// (it ended, or was killed) the dashboard stays, with a status line saying so.
pub fn view(app: &mut App, source: Source) -> Result<Outcome, Error> {
    let signals = SignalListener::new().map_err(Error::Signals)?;
    let signal_rx = signals.receiver().clone();
    let stop_input = Arc::new(AtomicBool::new(false));
    let result = (|| {
        let mut guard = TerminalGuard::new().map_err(Error::Terminal)?;
        let (input_tx, input) = unbounded();
        terminal::spawn_input(input_tx, Arc::clone(&stop_input)).map_err(Error::Input)?;
        let terminal = guard.terminal();
        let start = Instant::now();
        let ticker = tick(Duration::from_secs(1) / FPS);
        let mut updates = source.updates.clone();
        let mut samples = source.samples.clone();
        terminal.draw(|f| ui::draw(f, app)).map_err(Error::Draw)?;
        app.mark_drawn();
        loop {
            let event = select! {
                recv(input) -> ev => match ev {
                    Ok(Ok(ev)) => match terminal::to_event(&ev) {
                        Some(ev) => ev,
                        None => continue,
                    },
                    Ok(Err(e)) => return Err(Error::Input(e)),
                    Err(_) => return Err(Error::Input(io::Error::other("the input thread stopped"))),
                },
                recv(updates) -> u => if let Ok(u) = u {
                    Event::Update(u)
                } else {
                    updates = never();
                    samples = never();
                    app.status = Some(
                        "the run has ended (its control socket closed): q leaves".into(),
                    );
                    Event::Resize
                },
                recv(samples) -> s => if let Ok(s) = s {
                    Event::Sample(s)
                } else {
                    samples = never();
                    continue;
                },
                recv(ticker) -> _ => Event::Tick(start.elapsed()),
                recv(signal_rx) -> s => break Ok(Outcome::Signal(s.unwrap_or(SIGTERM))),
            };
            let is_tick = matches!(event, Event::Tick(_));
            if let Some(command) = app.update(event) {
                if let Some(tx) = &source.commands {
                    let _ = tx.send(command);
                }
            }
            if app.should_quit() {
                break Ok(Outcome::Quit);
            }
            if is_tick && app.needs_redraw() {
                terminal.draw(|f| ui::draw(f, app)).map_err(Error::Draw)?;
                app.mark_drawn();
            }
        }
    })();
    stop_input.store(true, Ordering::Relaxed);
    drop(signals);
    result
}

/// The run a log describes, as far as its lines tell (and its `run.json` when there is one).
pub fn replay_info(reports: &[EpochReport], meta: Option<&run_dir::Meta>) -> RunInfo {
    let mut names: Vec<String> = Vec::new();
    for r in reports {
        if !names.contains(&r.net) {
            names.push(r.net.clone());
        }
    }
    let nets = names
        .into_iter()
        .map(|name| NetInfo {
            bounded: config::parse_activations(&name)
                .ok()
                .and_then(|a| a.first().copied())
                .is_some_and(|a| a.bounds().is_some()),
            name,
        })
        .collect();
    let first = reports.first();
    let last = reports.last();
    let layers = first.map_or(0, |r| r.sparsity.len());
    let hidden = match meta {
        Some(m) if m.hidden.len() == layers || first.is_none() => m.hidden.clone(),
        _ => first.map_or_else(Vec::new, |r| {
            (0..layers)
                .map(|i| r.claims.active_units_hist.get(i).map_or(0, |h| h.units))
                .collect()
        }),
    };
    RunInfo {
        dataset: meta.map_or_else(|| "log".into(), |m| m.dataset.clone()),
        input_dim: 0,
        hidden,
        classes: 0,
        nets,
        batch_size: 0,
        batches_per_epoch: first
            .filter(|r| r.epoch > 0)
            .map_or(1, |r| (r.step / r.epoch as u64).max(1) as usize),
        train_examples: 0,
        valid_examples: 0,
        test_examples: 0,
        epochs: meta
            .and_then(|m| m.epochs)
            .or_else(|| last.map(|r| r.epoch)),
        lr: last.map_or(0.0, |r| r.lr),
        l1: last.map_or(0.0, |r| r.l1),
        seed: last.map_or(0, |r| r.seed),
        probe_examples: first.map_or(0, |r| r.claims.probe_examples),
    }
}

/// `relutui replay RUN|LOG`.
pub fn replay(args: &ReplayArgs) -> Result<Outcome, Error> {
    let (log, meta) = if args.run.is_dir() {
        let Some(meta) = run_dir::read_meta(&args.run) else {
            return Err(Error::Usage(format!(
                "{}: not a run directory (no readable {}); give its log file instead",
                args.run.display(),
                run_dir::META
            )));
        };
        let log = if meta.log.is_absolute() {
            meta.log.clone()
        } else {
            args.run.join(&meta.log)
        };
        (log, Some(meta))
    } else {
        (args.run.clone(), None)
    };
    let (reports, cut) = match run_dir::read_log(&log) {
        Ok(r) => r,
        Err(e) => return Err(Error::Usage(e)),
    };
    if reports.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the log holds no epoch yet",
            log.display()
        )));
    }
    let info = replay_info(&reports, meta.as_ref());
    let epochs = reports.last().map_or(0, |r| r.epoch);
    let mut app = App::new(terminal::colors_enabled());
    app.mode = Mode::Replay;
    app.update(Event::Update(Update::Started(info)));
    app.update(Event::Update(Update::History(reports)));
    app.update(Event::Update(Update::State(RunState::Done)));
    let how = match meta.as_ref().map(|m| &m.ended) {
        _ if cut => "its last line was cut short (a crash)".to_string(),
        Some(None) => "it never ended (crashed, or still running)".into(),
        Some(Some(run_dir::Ending::Done)) | None => "q leaves".into(),
        Some(Some(e)) => format!("it stopped: {e:?}").to_lowercase(),
    };
    app.status = Some(format!(
        "replay of {}: {epochs} epochs; {how}",
        log.display()
    ));
    let source = Source {
        updates: never(),
        samples: never(),
        commands: None,
    };
    view(&mut app, source)
}

/// `relutui ls [DIR]`: one line per run.
pub fn ls(args: &LsArgs) -> Result<(), Error> {
    let runs = match run_dir::list(&args.dir) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound && args.dir == Path::new(RUNS) => {
            println!("no runs: {RUNS}/ does not exist here (runs start in it by default)");
            return Ok(());
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "{}: cannot list it: {e}",
                args.dir.display()
            )))
        }
    };
    let mut out = io::stdout().lock();
    if runs.is_empty() {
        let _ = writeln!(out, "no runs in {}", args.dir.display());
        return Ok(());
    }
    let width = runs
        .iter()
        .map(|r| r.path.display().to_string().len())
        .max()
        .unwrap_or(3)
        .max(3);
    let _ = writeln!(
        out,
        "{:<width$}  {:<16}  {:>7}  {:<32}  HOW TO OPEN",
        "RUN", "STATE", "EPOCH", "BEST VALID ERROR"
    );
    for r in &runs {
        let epoch = match r.meta.epochs {
            Some(total) => format!("{}/{total}", r.epochs_done),
            None => r.epochs_done.to_string(),
        };
        let best: Vec<String> = r
            .best_valid
            .iter()
            .map(|(n, v)| format!("{n} {:.2}%", v * 100.0))
            .collect();
        let best = if best.is_empty() {
            "-".to_string()
        } else {
            best.join("  ")
        };
        let how = if r.state == run_dir::RunState::Running {
            format!("relutui attach {}", r.path.display())
        } else {
            format!("relutui replay {}", r.path.display())
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<16}  {epoch:>7}  {best:<32}  {how}",
            r.path.display(),
            r.state.name()
        );
    }
    Ok(())
}
