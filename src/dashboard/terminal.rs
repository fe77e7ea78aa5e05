//! The dashboard's terminal side: terminal set-up and restore, the input and signal threads,
//! and the UI thread's event loop.
//!
//! ```text
//!  input thread ──crossterm events──┐
//!  signal thread ──SIGTERM/HUP/INT──┤
//!  tick (15 a second) ──────────────┼──► UI thread: App::update, draw ──Command──► trainer
//!  trainer ──Update (reliable)──────┤
//!  trainer ──Sample (lossy)─────────┘
//! ```
//!
//! Only the UI thread touches the [`App`] and the terminal. It draws at most on every tick and
//! only when something visible changed, so an idle dashboard writes nothing.
//!
//! The terminal is restored on every way out: a normal quit, an error (a `Drop` guard), a panic
//! (ratatui's panic hook) and SIGTERM, SIGHUP (a dropped SSH link) or SIGINT, which are turned
//! into a quit request. Exit codes: 0 after `q`, 128 + the signal's number after a signal
//! (129 SIGHUP, 130 SIGINT, 143 SIGTERM).
//!
//! Setting `RELUTUI_STATS=1` prints the frames drawn per second to stderr on exit.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{select, tick, unbounded, Receiver, Sender};
use crossterm::event::{self as ct, KeyEventKind};
use ratatui::DefaultTerminal;
use signal_hook::consts::{SIGHUP, SIGTERM};

use crate::dashboard::app::{App, Event};
use crate::dashboard::summary;
use crate::dashboard::theme::{self, Theme};
use crate::dashboard::ui;
use crate::engine::trainer::{self, Trainer, TrainerHandle};
use crate::frontend::headless;
use crate::frontend::jsonl::JsonLines;
pub use crate::frontend::runtime::{terminal_gone, Error, Outcome};
use crate::frontend::signals::SignalListener;
use crate::protocol::{Command, Update};

/// At most this many frames a second.
pub const FPS: u32 = 15;
/// How long the input thread waits for a key before checking whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// Whether to use colours: not when `NO_COLOR` is set to anything but the empty string.
pub fn colors_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Owns the terminal between `try_init` and `restore`, so an early return restores it too.
pub(crate) struct TerminalGuard {
    terminal: Option<DefaultTerminal>,
}

impl TerminalGuard {
    /// Raw mode, the alternate screen, and ratatui's panic hook that restores the terminal.
    pub(crate) fn new() -> io::Result<Self> {
        match ratatui::try_init() {
            Ok(terminal) => Ok(Self {
                terminal: Some(terminal),
            }),
            Err(e) => {
                let _ = ratatui::try_restore();
                Err(e)
            }
        }
    }

    pub(crate) fn terminal(&mut self) -> &mut DefaultTerminal {
        self.terminal
            .as_mut()
            .expect("the terminal is held until drop")
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // A blank alternate screen first: tmux, leaving the alternate screen after the
        // window grew, pulls the alternate screen's bottom lines back onto the normal one.
        if let Some(terminal) = self.terminal.as_mut() {
            let _ = terminal.clear();
        }
        // Not `ratatui::restore`: it reports failure with `eprintln!`, which panics when the
        // terminal is gone (a hangup), and there is nobody to tell then anyway.
        let _ = ratatui::try_restore();
        if let Some(mut terminal) = self.terminal.take() {
            if terminal.show_cursor().is_err() {
                // The terminal is gone. Dropping it would try once more and report the failure
                // with `eprintln!` on the vanished stderr (a panic): let it go unsaid.
                std::mem::forget(terminal);
            }
        }
    }
}

/// How the dashboard looks and what its end-of-run summary names.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// See [`run`].
    pub detach_on_hangup: bool,
    /// `--theme`: `None` detects the background ([`theme::detect`]).
    pub theme: Option<Theme>,
    /// `--log FILE` and `--checkpoint FILE`, for the summary and the footer.
    pub log_path: Option<std::path::PathBuf>,
    pub checkpoint_path: Option<std::path::PathBuf>,
}

/// Runs the dashboard until the user quits or a signal arrives, then stops the trainer.
/// Every epoch report is also written to `log`, which is complete when this returns.
///
/// With `detach_on_hangup`, SIGHUP gives the terminal back and stops drawing, but training
/// goes on without a screen ([`headless::follow`]) until it is done (exit 0) or SIGTERM /
/// SIGINT stops it (128 + the signal). The trainer saves its checkpoint when it stops.
pub fn run<L: Write>(
    trainer: Trainer,
    log: Option<JsonLines<L>>,
    detach_on_hangup: bool,
) -> Result<Outcome, Error> {
    let options = Options {
        detach_on_hangup,
        ..Options::default()
    };
    run_with(trainer, log, &options, trainer::spawn)
}

/// [`run`] with the theme and the paths for the summary, which is printed on stdout once the
/// terminal is back (not after a hangup: there is nobody to read it), and with the trainer
/// started by `spawn` (a [`crate::frontend::bridge::Server`] puts its control socket between the trainer
/// and the dashboard).
pub fn run_with<L: Write>(
    trainer: Trainer,
    log: Option<JsonLines<L>>,
    options: &Options,
    spawn: impl FnOnce(Trainer) -> io::Result<TrainerHandle>,
) -> Result<Outcome, Error> {
    let detach_on_hangup = options.detach_on_hangup;
    let mut log = log;
    // Signals first, so that one arriving during set-up is a quit rather than a wreck.
    let signals = SignalListener::new().map_err(Error::Signals)?;
    let signal_rx = signals.receiver().clone();
    let handle = spawn(trainer).map_err(Error::Spawn)?;
    let stop_input = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut frames = 0u64;
    let mut app = App::new(colors_enabled());
    app.simd = Some(crate::engine::nn::simd::active().to_string());
    app.log.clone_from(&options.log_path);
    app.checkpoint.clone_from(&options.checkpoint_path);
    let result = match TerminalGuard::new() {
        Ok(mut guard) => {
            // In raw mode and before the input thread reads the keyboard: the terminal's
            // answer to the background query must not be taken for keys.
            app.theme = theme::detect(options.theme, app.color);
            let (input_tx, input_rx) = unbounded();
            let result = match spawn_input(input_tx, Arc::clone(&stop_input)) {
                Ok(_) => event_loop(
                    guard.terminal(),
                    &mut app,
                    &handle,
                    &input_rx,
                    &signal_rx,
                    &mut log,
                    &mut frames,
                ),
                Err(e) => Err(Error::Input(e)),
            };
            stop_input.store(true, Ordering::Relaxed);
            let detach = detach_on_hangup && matches!(result, Ok(Outcome::Signal(SIGHUP)));
            // Ask the trainer to stop first, then give the terminal back while it finishes.
            if !detach {
                let _ = handle.commands.send(Command::Quit);
            }
            drop(guard);
            // The results stay on the normal screen; not after a hangup (no one reads it).
            if !matches!(result, Ok(Outcome::Signal(SIGHUP))) {
                let _ = io::stdout().write_all(summary::render(&app).as_bytes());
                let _ = io::stdout().flush();
            }
            let result = if detach {
                headless::follow(&handle, &mut log, &signal_rx)
            } else {
                result
            };
            if std::env::var_os("RELUTUI_STATS").is_some() {
                // Not eprintln!: it panics when the terminal is gone.
                let secs = started.elapsed().as_secs_f64();
                let _ = writeln!(
                    io::stderr(),
                    "relutui: {frames} frames in {secs:.1} s ({:.2} frames/s)",
                    frames as f64 / secs.max(1e-9)
                );
            }
            result
        }
        Err(e) => Err(Error::Terminal(e)),
    };
    drop(signals);
    finish(handle, result, &mut log)
}

/// Stops and joins the trainer, writes the reports still queued, and says how it all ended.
fn finish<L: Write>(
    handle: TrainerHandle,
    result: Result<Outcome, Error>,
    log: &mut Option<JsonLines<L>>,
) -> Result<Outcome, Error> {
    let (panicked, left) = match handle.stop() {
        Ok(left) => (false, left),
        Err(_) => (true, Vec::new()),
    };
    // Epoch results that were on their way: the log gets them all.
    let mut log_result = Ok(());
    for update in left {
        match (update, log.as_mut()) {
            (Update::Epoch(report), Some(log)) => {
                if let Err(e) = log.write(&report) {
                    log_result = Err(Error::Log(e));
                    break;
                }
            }
            (Update::PretrainEpoch(report), Some(log)) => {
                if let Err(e) = log.write_pretrain(&report) {
                    log_result = Err(Error::Log(e));
                    break;
                }
            }
            // The checkpoint the trainer saved as it stopped: say where, now that the
            // terminal is back (ignoring a terminal that is gone).
            (Update::CheckpointSaved { at, path }, _) => {
                let _ = writeln!(
                    io::stderr(),
                    "relutui: checkpoint saved to {} (epoch {}, batch {})",
                    path.display(),
                    at.epoch + 1,
                    at.batch
                );
            }
            (Update::CheckpointFailed(e), _) => {
                let _ = writeln!(io::stderr(), "relutui: warning: {e}");
            }
            _ => {}
        }
    }
    match result {
        _ if panicked => Err(Error::TrainerPanicked),
        Err(Error::TrainerStopped) => Err(Error::TrainerStopped),
        Ok(outcome) => log_result.map(|()| outcome),
        Err(e) => Err(e),
    }
}

/// Reads terminal events and forwards them; stops when told, or when the UI is gone.
pub(crate) fn spawn_input(
    tx: Sender<io::Result<ct::Event>>,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new().name("input".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let event = match ct::poll(INPUT_POLL) {
                Ok(false) => continue,
                Ok(true) => ct::read(),
                Err(e) => Err(e),
            };
            let failed = event.is_err();
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    })
}

/// The events the dashboard reacts to; mouse, focus and paste events are not among them.
pub(crate) fn to_event(event: &ct::Event) -> Option<Event> {
    match event {
        ct::Event::Key(key) if key.kind == KeyEventKind::Press => Some(Event::Key(*key)),
        ct::Event::Resize(..) => Some(Event::Resize),
        _ => None,
    }
}

/// The UI thread: merges every source, updates the app and draws at most [`FPS`] times a
/// second, and only when something visible changed.
fn event_loop<L: Write>(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    handle: &TrainerHandle,
    input: &Receiver<io::Result<ct::Event>>,
    signals: &Receiver<i32>,
    log: &mut Option<JsonLines<L>>,
    frames: &mut u64,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let ticker = tick(Duration::from_secs(1) / FPS);
    match terminal.draw(|f| ui::draw(f, app)) {
        Ok(_) => {}
        Err(e) if terminal_gone(&e) => return Ok(Outcome::Signal(SIGHUP)),
        Err(e) => return Err(Error::Draw(e)),
    }
    app.mark_drawn();
    *frames += 1;
    let outcome = loop {
        let event = select! {
            recv(input) -> ev => match ev {
                Ok(Ok(ev)) => match to_event(&ev) {
                    Some(ev) => ev,
                    None => continue,
                },
                // A terminal that vanished is a hangup, however it is noticed first.
                Ok(Err(e)) if terminal_gone(&e) => break Outcome::Signal(SIGHUP),
                Ok(Err(e)) => return Err(Error::Input(e)),
                Err(_) => return Err(Error::Input(io::Error::other("the input thread stopped"))),
            },
            recv(handle.updates) -> update => match update {
                Ok(update) => {
                    if let (Update::Epoch(report), Some(log)) = (&update, log.as_mut()) {
                        log.write(report).map_err(Error::Log)?;
                    }
                    if let (Update::PretrainEpoch(report), Some(log)) = (&update, log.as_mut()) {
                        log.write_pretrain(report).map_err(Error::Log)?;
                    }
                    if matches!(update, Update::Reinitialised { .. }) {
                        // Samples queued before the re-initialisation belong to the old
                        // networks: drop them (a fresh one follows within a few batches).
                        while handle.samples.try_recv().is_ok() {}
                    }
                    Event::Update(update)
                }
                Err(_) => return Err(Error::TrainerStopped),
            },
            recv(handle.samples) -> sample => match sample {
                Ok(sample) => Event::Sample(sample),
                Err(_) => return Err(Error::TrainerStopped),
            },
            recv(ticker) -> _ => Event::Tick(start.elapsed()),
            recv(signals) -> signal => break Outcome::Signal(signal.unwrap_or(SIGTERM)),
        };
        let is_tick = matches!(event, Event::Tick(_));
        if let Some(command) = app.update(event) {
            if handle.commands.send(command).is_err() {
                return Err(Error::TrainerStopped);
            }
        }
        if app.should_quit() {
            break Outcome::Quit;
        }
        if is_tick && app.needs_redraw() {
            match terminal.draw(|f| ui::draw(f, app)) {
                Ok(_) => {}
                Err(e) if terminal_gone(&e) => break Outcome::Signal(SIGHUP),
                Err(e) => return Err(Error::Draw(e)),
            }
            app.mark_drawn();
            *frames += 1;
        }
    };
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RunState;

    fn handle(thread: JoinHandle<()>, updates: Vec<Update>) -> TrainerHandle {
        let (commands, _) = unbounded();
        let (update_tx, update_rx) = unbounded();
        for u in updates {
            update_tx.send(u).expect("queue an update");
        }
        let (_, samples) = crossbeam_channel::bounded(1);
        TrainerHandle {
            commands,
            updates: update_rx,
            samples,
            thread,
        }
    }

    #[test]
    fn a_trainer_panic_is_an_error_not_a_hang() {
        let thread = thread::spawn(|| panic!("the trainer fails (on purpose, in a test)"));
        let mut log: Option<JsonLines<Vec<u8>>> = None;
        let result = finish(handle(thread, vec![]), Err(Error::TrainerStopped), &mut log);
        assert!(matches!(result, Err(Error::TrainerPanicked)), "{result:?}");
    }

    #[test]
    fn reports_still_queued_at_the_end_reach_the_log() {
        let report: crate::protocol::EpochReport = serde_json::from_value(serde_json::json!({
            "net": "rectifier", "epoch": 3, "step": 2400,
            "train_error": 0.01, "valid_error": 0.02, "test_error": 0.02,
            "loss": 0.1, "l1_penalty": 0.01,
            "sparsity": [0.8], "dead_units": [2], "saturated_units": [0],
            "mean_activation": [0.1], "active_units": [200.0],
            "lr": 0.1, "l1": 0.001, "seed": 1, "examples_per_sec": 1000.0, "epoch_seconds": 8.0
        }))
        .expect("a valid report");
        let thread = thread::spawn(|| {});
        let updates = vec![Update::Epoch(report.clone()), Update::State(RunState::Done)];
        let mut log = Some(JsonLines::new(Vec::new()));
        let result = finish(handle(thread, updates), Ok(Outcome::Quit), &mut log);
        assert_eq!(result.ok(), Some(Outcome::Quit));
        let written = String::from_utf8(log.expect("log").into_inner()).expect("utf-8");
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 1, "{written}");
        let back: crate::protocol::EpochReport = serde_json::from_str(lines[0]).expect("JSON");
        assert_eq!(back.epoch, 3);
    }
}
