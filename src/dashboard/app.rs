//! The dashboard's state and its one entry point, [`App::update`]: every key, trainer update,
//! sample and clock tick goes through it, and what the trainer should do comes back as a
//! [`Command`]. It does no I/O, so it is tested without a terminal; rendering (in
//! [`crate::dashboard::ui`]) only reads it.

use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::dashboard::history::Recent;
use crate::dashboard::theme::Theme;
use crate::protocol::{Command, EpochReport, Position, RunInfo, RunState, Sample, Update};

mod heatmap;
mod keymap;
mod keys;
mod net_view;
mod pretrain_view;

pub use heatmap::Heatmap;
pub use keymap::{Action, Binding, Footer, HelpText, KEYMAP};
pub use keys::{L1_FLOOR, L1_MAX, L1_RESTART, LR_MAX, LR_MIN};
pub use net_view::{Change, LossBar, Mark, NetView, LOSS_BUCKET};
pub use pretrain_view::{PretrainNet, PretrainView};

/// Learning-rate, L1 and revive events remembered for the chart marks.
const MARKS: usize = 64;
/// The heatmap takes every this-many-th snapshot (samples come 5 a second, so 2.5 a second):
/// its cells are most of the bytes written to the terminal.
const HEATMAP_EVERY: usize = 2;
/// Everything the dashboard reacts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    /// The terminal changed size: draw again.
    Resize,
    Update(Update),
    Sample(Sample),
    /// The clock: time since the dashboard started.
    Tick(Duration),
}

/// Whose run the dashboard shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// This process trains it: `q` stops the run.
    #[default]
    Local,
    /// `relutui attach`: `q` detaches (the run goes on) and `S` stops the run; a read-only
    /// viewer only changes its own view.
    Attached { read_only: bool },
    /// `relutui replay`: a finished log, nothing to steer.
    Replay,
}

/// The dashboard's state.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags: colour, overlays and views, a confirmation, quit, redraw"
)]
pub struct App {
    /// Use colours (off when `NO_COLOR` is set).
    pub color: bool,
    /// The terminal's background: which colours read well on it.
    pub theme: Theme,
    /// `--checkpoint FILE`, where `w` saves (and the end-of-run summary says so).
    pub checkpoint: Option<std::path::PathBuf>,
    /// `--log FILE`, for the end-of-run summary.
    pub log: Option<std::path::PathBuf>,
    /// `s`: each network's chart shows the focused layer's sparsity over time instead of the
    /// errors.
    pub show_sparsity_chart: bool,
    /// `h`: the sparklines cover the whole run instead of the newest points.
    pub full_history: bool,
    /// `r` was pressed once: the next key says whether to re-initialise.
    pub confirm_reinit: bool,
    /// Wall time since the dashboard started, pauses included.
    pub wall_time: Duration,
    /// The steps and the running time when the clock last restarted: the pace behind the ETA.
    eta_base: Option<(u64, Duration)>,
    /// Pause / resume asked for and not yet confirmed, oldest first: a second space acts on
    /// the state the first one asked for, so fast keys are never lost.
    pending_states: Vec<RunState>,
    /// `None` until the trainer has described the run.
    pub info: Option<RunInfo>,
    /// `None` until the trainer has said.
    pub state: Option<RunState>,
    pub nets: Vec<NetView>,
    /// The learning rate and L1 penalty as last asked for (the trainer confirms each change).
    pub lr: f32,
    pub l1: f32,
    pub seed: u64,
    pub position: Position,
    /// Training examples per second, from the latest sample that trained.
    pub examples_per_sec: f64,
    /// Time spent running (pauses and `DONE` do not count); restarts on re-initialisation.
    pub run_time: Duration,
    /// Heatmap focus: `(network, hidden layer)`.
    pub focus: (usize, usize),
    pub heatmap: Option<Heatmap>,
    /// Learning-rate and L1 changes confirmed by the trainer, for the chart marks.
    pub marks: Recent<Mark>,
    pub show_help: bool,
    /// The SIMD level the kernels dispatch to, for the help's title (set by the front end
    /// that runs the trainer; `None` draws no level).
    pub simd: Option<String>,
    /// The help's page: 0 the keys, 1 how to read the screen (`tab` switches).
    pub help_page: usize,
    /// `c`: each network's column shows the claims measurements instead of its error chart.
    pub show_claims: bool,
    /// `a`: the lr and L1 keys change the focused network only (`false`: every network).
    pub keys_focused: bool,
    /// A one-line message for the footer (a checkpoint saved or failed, a divergence), until
    /// the next key.
    pub status: Option<String>,
    /// Local, attached or replay: what `q` means and which keys steer.
    pub mode: Mode,
    /// `w` was pressed and its checkpoint is not yet confirmed (the saves at epoch ends are
    /// not announced).
    checkpoint_asked: bool,
    /// The pre-training phase, while the run is in it.
    pub pretrain: Option<PretrainView>,
    initial_l1: f32,
    last_tick: Option<Duration>,
    /// Next network (by arrival order) an epoch report belongs to.
    report_cursor: usize,
    /// Snapshots passed over since the heatmap last changed.
    snapshots_skipped: usize,
    quit: bool,
    dirty: bool,
}

impl App {
    pub fn new(color: bool) -> Self {
        Self {
            color,
            theme: Theme::Dark,
            checkpoint: None,
            log: None,
            show_sparsity_chart: false,
            full_history: false,
            confirm_reinit: false,
            wall_time: Duration::ZERO,
            eta_base: None,
            pending_states: Vec::new(),
            info: None,
            state: None,
            nets: Vec::new(),
            lr: 0.0,
            l1: 0.0,
            seed: 0,
            position: Position::default(),
            examples_per_sec: 0.0,
            run_time: Duration::ZERO,
            focus: (0, 0),
            heatmap: None,
            marks: Recent::new(MARKS),
            show_help: false,
            simd: None,
            help_page: 0,
            show_claims: false,
            keys_focused: false,
            status: None,
            mode: Mode::Local,
            checkpoint_asked: false,
            pretrain: None,
            initial_l1: 0.0,
            last_tick: None,
            report_cursor: 0,
            snapshots_skipped: 0,
            quit: false,
            dirty: true,
        }
    }

    /// Whether a quit was asked for.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether anything visible changed since the last [`App::mark_drawn`].
    pub fn needs_redraw(&self) -> bool {
        self.dirty
    }

    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// Hidden layers per network.
    pub fn layers(&self) -> usize {
        self.info.as_ref().map_or(0, |i| i.hidden.len())
    }

    /// The current position as a fractional epoch (for chart x coordinates).
    pub fn epoch_x(&self, at: Position) -> f64 {
        let bpe = self.info.as_ref().map_or(1, |i| i.batches_per_epoch.max(1));
        at.epoch as f64 + at.batch as f64 / bpe as f64
    }

    /// The heatmap, if its snapshot is of the focused layer.
    pub fn focused_heatmap(&self) -> Option<&Heatmap> {
        self.heatmap
            .as_ref()
            .filter(|h| (h.snapshot.net, h.snapshot.layer) == self.focus)
    }

    /// Applies one event; returns what the trainer should do, if anything.
    pub fn update(&mut self, event: Event) -> Option<Command> {
        match event {
            Event::Key(key) => {
                self.dirty = true;
                self.on_key(key)
            }
            Event::Resize => {
                self.dirty = true;
                None
            }
            Event::Update(u) => {
                self.dirty = true;
                self.on_update(u);
                None
            }
            Event::Sample(s) => {
                self.dirty = true;
                self.on_sample(s);
                None
            }
            Event::Tick(now) => {
                self.on_tick(now);
                None
            }
        }
    }

    fn on_tick(&mut self, now: Duration) {
        let last = self.last_tick.replace(now).unwrap_or(now);
        let before = self.wall_time.as_secs();
        self.wall_time += now.saturating_sub(last);
        // The clock shows whole seconds: redraw only when it moves.
        if self.wall_time.as_secs() != before && self.state.is_some() {
            self.dirty = true;
        }
        if self.state == Some(RunState::Running) {
            self.run_time += now.saturating_sub(last);
        }
    }

    /// The state the trainer will be in once it has done what was asked: the newest pause or
    /// resume not yet confirmed, else the state it reported.
    pub fn intended_state(&self) -> Option<RunState> {
        self.pending_states.last().copied().or(self.state)
    }

    /// Seconds per batch while running, measured since the clock last restarted (a pause, a
    /// re-initialisation); `None` until a few batches are in.
    fn secs_per_batch(&self) -> Option<f64> {
        let (step0, t0) = self.eta_base?;
        let steps = self.position.step.checked_sub(step0)?;
        let secs = self.run_time.saturating_sub(t0).as_secs_f64();
        (steps >= 5 && secs > 0.5).then(|| secs / steps as f64)
    }

    /// Time left in this epoch and, with `--epochs`, in the run, at the pace so far.
    pub fn eta(&self) -> Option<(Duration, Option<Duration>)> {
        let info = self.info.as_ref()?;
        if self.state != Some(RunState::Running) {
            return None;
        }
        let per = self.secs_per_batch()?;
        let bpe = info.batches_per_epoch.max(1);
        let left_epoch = bpe.saturating_sub(self.position.batch) as f64;
        let run = info.epochs.map(|e| {
            let left = e.saturating_sub(self.position.epoch + 1) as f64 * bpe as f64;
            Duration::from_secs_f64((left + left_epoch) * per)
        });
        Some((Duration::from_secs_f64(left_epoch * per), run))
    }

    #[allow(
        unreachable_patterns,
        clippy::match_wildcard_for_single_variants,
        reason = "the protocol grows; updates the dashboard does not show yet fall through"
    )]
    fn on_update(&mut self, update: Update) {
        match update {
            Update::Started(info) => {
                self.lr = info.lr;
                self.l1 = info.l1;
                self.initial_l1 = info.l1;
                self.seed = info.seed;
                self.nets = info
                    .nets
                    .iter()
                    .map(|n| NetView::new(n.clone(), info.hidden.len()))
                    .collect();
                let layers = info.hidden.len().max(1);
                self.focus = (
                    self.focus.0.min(info.nets.len().saturating_sub(1)),
                    self.focus.1.min(layers - 1),
                );
                self.info = Some(info);
                self.reset_run(Position::default());
            }
            Update::State(s) => {
                // A confirmation ends the oldest matching request; Done ends them all.
                match self.pending_states.iter().position(|&p| p == s) {
                    Some(i) if s != RunState::Done => {
                        self.pending_states.drain(..=i);
                    }
                    _ => self.pending_states.clear(),
                }
                if s == RunState::Running && self.state != Some(RunState::Running) {
                    self.eta_base = None;
                }
                self.state = Some(s);
            }
            Update::Epoch(report) => self.on_epoch(&report),
            Update::Pretraining(at) => self.on_pretraining(at),
            Update::PretrainEpoch(report) => {
                let net = self.nets.iter().position(|n| n.info.name == report.net);
                if let (Some(p), Some(net)) = (self.pretrain.as_mut(), net) {
                    p.on_report(net, &report);
                }
            }
            Update::History(reports) => {
                for report in &reports {
                    self.on_epoch(report);
                }
            }
            Update::LrChanged { at, lr } => self.marks.push(Mark {
                at,
                change: Change::Lr(lr),
            }),
            Update::L1Changed { at, l1 } => self.marks.push(Mark {
                at,
                change: Change::L1(l1),
            }),
            Update::NetSettings { lrs, l1s, .. } => {
                for (view, (&lr, &l1)) in self.nets.iter_mut().zip(lrs.iter().zip(&l1s)) {
                    (view.lr, view.l1) = (Some(lr), Some(l1));
                }
                self.sync_key_values();
            }
            Update::Stopped {
                net,
                at,
                best_epoch,
            } => {
                if let Some(view) = self.nets.get_mut(net) {
                    view.stopped = true;
                    self.status = Some(format!(
                        "{} STOPPED after epoch {} (--patience): best validation error at epoch {best_epoch}",
                        view.info.name, at.epoch
                    ));
                }
            }
            Update::Revived { at, units } => self.on_revived(at, &units),
            Update::Reinitialised { at, seed } => {
                self.seed = seed;
                self.reset_run(at);
            }
            Update::CheckpointSaved { at, path } if self.checkpoint_asked => {
                self.checkpoint_asked = false;
                self.status = Some(format!(
                    "checkpoint saved: epoch {} batch {} → {}",
                    at.epoch + 1,
                    at.batch,
                    path.display()
                ));
            }
            Update::CheckpointFailed(e) => {
                self.checkpoint_asked = false;
                self.status = Some(format!("checkpoint failed: {e}"));
            }
            Update::Diverged { net, at, reason } => {
                if let Some(view) = self.nets.get_mut(net) {
                    view.diverged = true;
                    self.status = Some(format!(
                        "{} DIVERGED at epoch {} batch {} ({reason}): lower lr with -, then u",
                        view.info.name,
                        at.epoch + 1,
                        at.batch
                    ));
                }
            }
            Update::Restored { nets, .. } => {
                for &i in &nets {
                    if let Some(view) = self.nets.get_mut(i) {
                        view.diverged = false;
                    }
                }
                let names: Vec<&str> = nets
                    .iter()
                    .filter_map(|&i| self.nets.get(i).map(|v| v.info.name.as_str()))
                    .collect();
                if !names.is_empty() {
                    self.status = Some(format!("restored {}", names.join(", ")));
                }
            }
            _ => {}
        }
    }

    /// The answer to `d`: a status line, and a chart mark when any unit came back.
    fn on_revived(&mut self, at: Position, units: &[Vec<Vec<usize>>]) {
        let per_net: Vec<usize> = units
            .iter()
            .map(|layers| layers.iter().map(Vec::len).sum())
            .collect();
        let total: usize = per_net.iter().sum();
        if total == 0 {
            self.status = Some("no dead units to revive".into());
            return;
        }
        let parts: Vec<String> = self
            .nets
            .iter()
            .zip(&per_net)
            .map(|(v, n)| format!("{} {n}", v.info.name))
            .collect();
        let s = if total == 1 { "" } else { "s" };
        self.status = Some(format!(
            "revived {total} dead unit{s} ({}) at epoch {} batch {}",
            parts.join(", "),
            at.epoch + 1,
            at.batch
        ));
        self.marks.push(Mark {
            at,
            change: Change::Revive(total),
        });
    }

    /// Forgets everything that belongs to the networks' previous life.
    fn reset_run(&mut self, at: Position) {
        let layers = self.layers();
        for net in &mut self.nets {
            *net = NetView::new(net.info.clone(), layers);
        }
        self.marks.clear();
        self.heatmap = None;
        self.position = at;
        self.run_time = Duration::ZERO;
        self.eta_base = None;
        self.examples_per_sec = 0.0;
        self.report_cursor = 0;
    }

    fn on_epoch(&mut self, report: &EpochReport) {
        let n = self.nets.len();
        if n == 0 {
            return;
        }
        // Reports come in network order; the name settles any doubt.
        let cursor = self.report_cursor % n;
        let i = if self.nets[cursor].info.name == report.net {
            cursor
        } else {
            match self.nets.iter().position(|v| v.info.name == report.net) {
                Some(i) => i,
                None => return,
            }
        };
        self.report_cursor = (i + 1) % n;
        self.nets[i].record(report);
        self.nets[i].diverged = report.diverged;
        if report.step >= self.position.step {
            self.position = Position {
                epoch: report.epoch,
                batch: 0,
                step: report.step,
            };
        }
    }

    /// The run entered pre-training of a layer, or supervised training (`None`).
    fn on_pretraining(&mut self, at: Option<crate::protocol::PretrainAt>) {
        match (at, self.pretrain.as_mut()) {
            (None, _) => self.pretrain = None,
            (Some(at), Some(p)) => p.enter(at),
            (Some(at), None) => self.pretrain = Some(PretrainView::new(at, self.nets.len())),
        }
        // The trainer sends the code of the layer being pre-trained: focus it. The lr keys
        // change the phase's rate while it lasts, then the supervised one.
        match at {
            Some(at) => {
                self.focus.1 = at.layer;
                self.lr = at.lr;
            }
            None => {
                if let Some(info) = &self.info {
                    self.lr = info.lr;
                }
            }
        }
    }

    fn on_sample(&mut self, sample: Sample) {
        if self.info.is_none() {
            return;
        }
        let trained = sample.losses.iter().any(|l| l.is_finite());
        if let Some(p) = self.pretrain.as_mut() {
            // Reconstruction errors and the phase's position: not the supervised history.
            p.on_losses(sample.at.epoch, sample.at.batch, &sample.losses);
            if let Some(s) = &sample.activations {
                p.on_snapshot(s);
            }
        } else {
            for (net, &loss) in self.nets.iter_mut().zip(&sample.losses) {
                if loss.is_finite() {
                    net.push_loss(sample.at.step, loss);
                }
            }
            self.position = sample.at;
        }
        if trained {
            self.examples_per_sec = sample.examples_per_sec;
        }
        if self.pretrain.is_none() {
            let x = self.epoch_x(sample.at);
            for (net, live) in self.nets.iter_mut().zip(&sample.live_sparsity) {
                if live.is_empty() {
                    net.live_sparsity.iter_mut().for_each(|l| *l = None);
                    continue;
                }
                for (layer, &f) in live.iter().enumerate() {
                    if let Some(slot) = net.live_sparsity.get_mut(layer) {
                        *slot = Some(f);
                    }
                    if trained {
                        if let Some(h) = net.live_history.get_mut(layer) {
                            h.push(x, f);
                        }
                    }
                }
            }
            if self.state == Some(RunState::Running) && self.eta_base.is_none() {
                self.eta_base = Some((sample.at.step, self.run_time));
            }
        }
        // Another viewer of the same run may have the trainer snapshot another layer: keep
        // the last picture of this dashboard's own focus rather than show that one.
        let snapshot = sample
            .activations
            .filter(|a| (a.net, a.layer) == self.focus);
        if let Some(snapshot) = snapshot {
            // A newly focused layer shows at once; after that, every HEATMAP_EVERY-th snapshot.
            let fresh = self.focused_heatmap().is_none();
            self.snapshots_skipped += 1;
            if fresh || self.snapshots_skipped >= HEATMAP_EVERY {
                self.heatmap = Some(Heatmap::new(snapshot));
                self.snapshots_skipped = 0;
            }
        }
    }
}

/// A rate or penalty in at most four significant digits: `0.1`, `0.0125`, `9.766e-5`, `0`.
pub fn fmt_value(v: f32) -> String {
    let v = f64::from(v);
    if v == 0.0 {
        return "0".into();
    }
    if (1e-3..1e4).contains(&v.abs()) {
        let decimals = (3 - v.abs().log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let s = format!("{v:.3e}");
        match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::history::Series;
    use crate::engine::config::{L1Penalty, LearningRate};
    use crate::protocol::{ActivationSnapshot, NetInfo};
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn info(nets: &[(&str, bool)], hidden: &[usize], l1: f32) -> RunInfo {
        RunInfo {
            dataset: "mnist10k".into(),
            input_dim: 784,
            hidden: hidden.to_vec(),
            classes: 10,
            nets: nets
                .iter()
                .map(|&(name, bounded)| NetInfo {
                    name: name.into(),
                    bounded,
                })
                .collect(),
            batch_size: 10,
            batches_per_epoch: 800,
            train_examples: 8000,
            valid_examples: 1000,
            test_examples: 1000,
            epochs: Some(10),
            lr: 0.1,
            l1,
            seed: 1,
            probe_examples: 48,
        }
    }

    fn started(l1: f32) -> App {
        let mut app = App::new(true);
        app.update(Event::Update(Update::Started(info(
            &[("rectifier", false), ("tanh", true)],
            &[1000, 1000, 1000],
            l1,
        ))));
        app.update(Event::Update(Update::State(RunState::Running)));
        app
    }

    /// Built from JSON, as the log reads, so that fields added later take their defaults.
    fn report(net: &str, epoch: usize, err: f64) -> EpochReport {
        serde_json::from_value(serde_json::json!({
            "net": net, "epoch": epoch, "step": epoch * 800,
            "train_error": err / 2.0, "valid_error": err, "test_error": err,
            "loss": 0.3, "l1_penalty": 0.01,
            "sparsity": [0.5, 0.6, 0.7], "dead_units": [1, 2, 3], "saturated_units": [0, 0, 0],
            "mean_activation": [0.1, 0.1, 0.1], "active_units": [500.0, 500.0, 500.0],
            "lr": 0.1, "l1": 0.001, "seed": 1, "examples_per_sec": 1000.0, "epoch_seconds": 8.0
        }))
        .expect("a valid report")
    }

    fn sample(step: u64, loss: f32) -> Sample {
        Sample {
            at: Position {
                epoch: 0,
                batch: step as usize,
                step,
            },
            losses: vec![loss, loss * 2.0],
            examples_per_sec: 1234.0,
            activations: None,
            watched: Vec::new(),
            live_sparsity: Vec::new(),
        }
    }

    #[test]
    fn keys_map_to_commands() {
        let mut app = started(0.001);
        assert_eq!(app.update(key('n')), None, "no step while running");
        assert!(app.status.as_deref().unwrap().contains("while paused"));
        assert_eq!(app.update(key(' ')), Some(Command::Pause));
        app.update(Event::Update(Update::State(RunState::Paused)));
        assert_eq!(app.update(key('n')), Some(Command::Step));
        assert_eq!(app.update(key(' ')), Some(Command::Resume));
        assert_eq!(app.update(key('n')), None, "resuming: no step");
        assert_eq!(app.update(key('x')), None);
        assert!(!app.should_quit());
        assert_eq!(app.update(key('q')), Some(Command::Quit));
        assert!(app.should_quit());
    }

    #[test]
    fn w_saves_and_u_restores_a_diverged_network() {
        let mut app = started(0.001);
        let at = Position {
            epoch: 2,
            batch: 40,
            step: 1640,
        };
        let saved = Event::Update(Update::CheckpointSaved {
            at,
            path: "run.ckpt".into(),
        });
        app.update(saved.clone());
        assert_eq!(
            app.status, None,
            "the saves at epoch ends are not announced"
        );
        assert_eq!(app.update(key('w')), Some(Command::Checkpoint));
        app.update(saved);
        assert_eq!(
            app.status.as_deref(),
            Some("checkpoint saved: epoch 3 batch 40 → run.ckpt")
        );
        assert_eq!(app.update(key('u')), None, "nothing has diverged");
        assert_eq!(
            app.status.as_deref(),
            Some("nothing to restore: no network has diverged"),
            "a key replaces the status with its own feedback"
        );
        app.update(Event::Update(Update::Diverged {
            net: 0,
            at,
            reason: "the loss is NaN".into(),
        }));
        assert!(app.nets[0].diverged && !app.nets[1].diverged);
        assert!(app
            .status
            .as_deref()
            .unwrap()
            .contains("rectifier DIVERGED"));
        assert_eq!(app.update(key('u')), Some(Command::RestoreLastGood));
        app.update(Event::Update(Update::Restored { at, nets: vec![0] }));
        assert!(!app.nets[0].diverged);
        assert_eq!(app.status.as_deref(), Some("restored rectifier"));
        app.update(Event::Update(Update::CheckpointFailed(
            "x: disk full".into(),
        )));
        assert_eq!(
            app.status.as_deref(),
            Some("checkpoint failed: x: disk full")
        );
    }

    #[test]
    fn ctrl_c_quits() {
        let mut app = started(0.001);
        let ev = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(app.update(ev), Some(Command::Quit));
        assert!(app.should_quit());
    }

    #[test]
    fn quit_works_before_the_trainer_has_started() {
        let mut app = App::new(false);
        assert_eq!(app.update(key(' ')), None);
        assert_eq!(app.update(key('q')), Some(Command::Quit));
    }

    #[test]
    fn plus_doubles_and_minus_halves_the_learning_rate() {
        let mut app = started(0.001);
        assert_eq!(
            app.update(key('+')),
            Some(Command::SetLr(LearningRate::new(0.2).unwrap()))
        );
        assert_eq!(
            app.update(key('=')),
            Some(Command::SetLr(LearningRate::new(0.4).unwrap()))
        );
        assert_eq!(fmt_value(app.lr), "0.4");
        assert_eq!(
            app.update(key('-')),
            Some(Command::SetLr(LearningRate::new(0.2).unwrap()))
        );
        assert_eq!(
            app.update(key('-')),
            Some(Command::SetLr(LearningRate::new(0.1).unwrap()))
        );
        assert_eq!(fmt_value(app.lr), "0.1");
        // A late confirmation does not undo a newer request; it only marks the chart.
        app.update(key('+'));
        app.update(Event::Update(Update::LrChanged {
            at: Position::default(),
            lr: 0.1,
        }));
        assert_eq!(fmt_value(app.lr), "0.2");
        assert_eq!(app.marks.len(), 1);
    }

    #[test]
    fn the_learning_rate_stays_in_bounds() {
        let mut app = started(0.001);
        for _ in 0..20 {
            app.update(key('+'));
        }
        assert!((app.lr - LR_MAX).abs() < 1e-6);
        assert_eq!(
            app.update(key('+')),
            None,
            "no command when nothing changes"
        );
        for _ in 0..40 {
            app.update(key('-'));
        }
        assert!((app.lr - LR_MIN).abs() < 1e-12);
    }

    #[test]
    fn l1_goes_to_zero_and_back() {
        let mut app = started(0.001);
        assert_eq!(
            app.update(key(']')),
            Some(Command::SetL1(L1Penalty::new(0.002).unwrap()))
        );
        assert_eq!(
            app.update(key('[')),
            Some(Command::SetL1(L1Penalty::new(0.001).unwrap()))
        );
        let mut last = None;
        for _ in 0..20 {
            if let Some(c) = app.update(key('[')) {
                last = Some(c);
            }
        }
        assert_eq!(last, Some(Command::SetL1(L1Penalty::new(0.0).unwrap())));
        assert_eq!(app.l1.to_bits(), 0.0_f32.to_bits());
        assert_eq!(app.update(key('[')), None, "already at 0");
        // Up from 0 returns to the run's initial L1.
        assert_eq!(
            app.update(key(']')),
            Some(Command::SetL1(L1Penalty::new(0.001).unwrap()))
        );
        assert_eq!(fmt_value(app.l1), "0.001");
    }

    #[test]
    fn l1_up_from_a_zero_start_goes_to_the_restart_value() {
        let mut app = started(0.0);
        assert_eq!(
            app.update(key(']')),
            Some(Command::SetL1(L1Penalty::new(L1_RESTART).unwrap()))
        );
        assert_eq!(
            app.update(key(']')),
            Some(Command::SetL1(L1Penalty::new(L1_RESTART * 2.0).unwrap()))
        );
        assert_eq!(
            app.update(key('[')),
            Some(Command::SetL1(L1Penalty::new(L1_RESTART).unwrap()))
        );
        assert_eq!(
            app.update(key('[')),
            Some(Command::SetL1(L1Penalty::new(L1_RESTART / 2.0).unwrap()))
        );
        assert_eq!(
            app.update(key('[')),
            Some(Command::SetL1(L1Penalty::new(L1_RESTART / 4.0).unwrap()))
        );
        assert_eq!(
            app.update(key('[')),
            Some(Command::SetL1(L1Penalty::new(L1_RESTART / 8.0).unwrap()))
        );
        // 1e-5 / 16 is below the floor of 1e-6: straight to 0.
        assert_eq!(
            app.update(key('[')),
            Some(Command::SetL1(L1Penalty::new(0.0).unwrap()))
        );
    }

    #[test]
    fn tab_cycles_focus_across_layers_and_networks() {
        let mut app = started(0.001);
        let mut seen = Vec::new();
        for _ in 0..6 {
            match app.update(code(KeyCode::Tab)) {
                Some(Command::Focus { net, layer }) => seen.push((net, layer)),
                other => panic!("tab gave {other:?}"),
            }
        }
        assert_eq!(seen, [(0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 0)]);
        assert_eq!(
            app.update(code(KeyCode::BackTab)),
            Some(Command::Focus { net: 1, layer: 2 })
        );
        assert_eq!(app.focus, (1, 2));
    }

    #[test]
    fn the_heatmap_shows_only_the_focused_layer() {
        let mut app = started(0.001);
        let mut s = sample(5, 1.0);
        s.activations = Some(ActivationSnapshot {
            net: 0,
            layer: 0,
            examples: 2,
            units: 3,
            values: vec![0.0, 0.5, 1.0, 0.0, 0.0, 2.0],
        });
        app.update(Event::Sample(s));
        let h = app
            .focused_heatmap()
            .expect("snapshot of the focused layer");
        assert!((h.zeros - 0.5).abs() < 1e-9);
        assert_eq!(h.level(0.0), 0);
        assert!(h.level(0.01) >= 1, "small but not zero is visible");
        assert_eq!(h.level(100.0), Heatmap::LEVELS);
        // The next snapshot is passed over, the one after is taken.
        let next = |v: f32| {
            let mut s = sample(6, 1.0);
            s.activations = Some(ActivationSnapshot {
                net: 0,
                layer: 0,
                examples: 1,
                units: 1,
                values: vec![v],
            });
            Event::Sample(s)
        };
        app.update(next(7.0));
        assert_eq!(app.focused_heatmap().unwrap().snapshot.units, 3);
        app.update(next(8.0));
        assert_eq!(app.focused_heatmap().unwrap().value(0, 0), Some(8.0));
        app.update(code(KeyCode::Tab));
        assert!(app.focused_heatmap().is_none(), "stale layer is not shown");
    }

    #[test]
    fn epochs_and_samples_build_the_histories() {
        let mut app = started(0.001);
        app.update(Event::Sample(sample(10, 2.0)));
        app.update(Event::Sample(sample(20, f32::NAN)));
        assert_eq!(
            app.nets[0].loss.len(),
            1,
            "a sample without batches adds no loss"
        );
        for i in 0..LOSS_BUCKET as u64 {
            app.update(Event::Sample(sample(30 + i, 1.0)));
        }
        assert_eq!(
            app.nets[0].loss.len(),
            2,
            "a bar holds {LOSS_BUCKET} samples"
        );
        let first = app.nets[0].loss.iter().next().unwrap();
        assert_eq!((first.first_step, first.last_step), (10, 33));
        assert!((first.mean() - 1.2).abs() < 1e-6);
        assert!((app.nets[1].recent_loss().unwrap() - 2.0).abs() < 1e-6);
        assert!((app.examples_per_sec - 1234.0).abs() < 1e-9);
        for e in 1..=3 {
            app.update(Event::Update(Update::Epoch(report("rectifier", e, 0.1))));
            app.update(Event::Update(Update::Epoch(report("tanh", e, 0.2))));
        }
        assert_eq!(app.nets[0].valid_error.len(), 3);
        assert_eq!(app.nets[1].valid_error.last(), Some((3.0, 0.2)));
        assert_eq!(app.nets[0].sparsity[2].last(), Some((3.0, 0.7)));
        assert_eq!(app.position.epoch, 3);
    }

    #[test]
    fn reinit_resets_the_histories_and_shows_the_seed() {
        let mut app = started(0.001);
        app.update(Event::Sample(sample(10, 2.0)));
        app.update(Event::Update(Update::Epoch(report("rectifier", 1, 0.1))));
        app.update(Event::Update(Update::LrChanged {
            at: Position::default(),
            lr: 0.2,
        }));
        app.update(Event::Tick(Duration::ZERO));
        app.update(Event::Tick(Duration::from_secs(5)));
        assert_eq!(app.run_time, Duration::from_secs(5));
        assert_eq!(app.update(key('r')), None, "r asks first");
        assert!(app.status.as_deref().unwrap().contains("seed 2?"));
        assert_eq!(app.update(key('r')), Some(Command::Reinit { seed: 2 }));
        assert_eq!(app.seed, 2);
        app.update(Event::Update(Update::Reinitialised {
            at: Position::default(),
            seed: 2,
        }));
        assert!(app.nets.iter().all(|n| n.valid_error.is_empty()
            && n.loss.is_empty()
            && n.last.is_none()
            && n.sparsity.iter().all(Series::is_empty)));
        assert!(app.marks.is_empty());
        assert_eq!(app.run_time, Duration::ZERO);
        assert_eq!(app.position, Position::default());
        // The learning rate survives a re-initialisation.
        assert!((app.lr - 0.1).abs() < 1e-9);
    }

    #[test]
    fn done_ignores_pause_and_step() {
        let mut app = started(0.001);
        app.update(Event::Update(Update::State(RunState::Done)));
        assert_eq!(app.state, Some(RunState::Done));
        assert_eq!(app.update(key(' ')), None);
        assert!(app.status.as_deref().unwrap().contains("nothing to pause"));
        assert_eq!(app.update(key('n')), None);
        assert_eq!(app.update(key('r')), None);
        assert_eq!(app.update(key('y')), Some(Command::Reinit { seed: 2 }));
    }

    #[test]
    fn the_clock_runs_only_while_running_and_redraws_once_a_second() {
        let mut app = started(0.001);
        app.mark_drawn();
        app.update(Event::Tick(Duration::from_millis(0)));
        app.update(Event::Tick(Duration::from_millis(500)));
        assert!(!app.needs_redraw(), "no visible change within a second");
        app.update(Event::Tick(Duration::from_millis(1100)));
        assert!(app.needs_redraw());
        app.update(Event::Update(Update::State(RunState::Paused)));
        app.update(Event::Tick(Duration::from_secs(5)));
        assert_eq!(app.run_time, Duration::from_millis(1100));
    }

    #[test]
    fn two_fast_spaces_pause_and_resume() {
        let mut app = started(0.001);
        // Both presses arrive before the trainer confirms the first.
        assert_eq!(app.update(key(' ')), Some(Command::Pause));
        assert_eq!(app.update(key(' ')), Some(Command::Resume));
        assert_eq!(app.intended_state(), Some(RunState::Running));
        app.update(Event::Update(Update::State(RunState::Paused)));
        assert_eq!(
            app.intended_state(),
            Some(RunState::Running),
            "resume still on its way"
        );
        app.update(Event::Update(Update::State(RunState::Running)));
        assert_eq!(app.state, Some(RunState::Running));
        assert_eq!(app.intended_state(), Some(RunState::Running));
        // Space then n at once: the step follows the pause.
        assert_eq!(app.update(key(' ')), Some(Command::Pause));
        assert_eq!(app.update(key('n')), Some(Command::Step));
    }

    #[test]
    fn r_asks_and_any_other_key_keeps_the_run() {
        let mut app = started(0.001);
        assert_eq!(app.update(key('r')), None);
        assert!(app.confirm_reinit);
        assert_eq!(app.update(key('x')), None);
        assert_eq!(
            app.status.as_deref(),
            Some("kept the run: nothing re-initialised")
        );
        assert_eq!(app.seed, 1);
        // q still quits while the question is open.
        app.update(key('r'));
        assert_eq!(app.update(key('q')), Some(Command::Quit));
    }

    #[test]
    fn every_key_says_something() {
        let mut app = started(0.001);
        for c in ['x', 'n', 'u', 'h'] {
            app.update(key(c));
            assert!(app.status.is_some(), "{c} gave no feedback");
        }
        for _ in 0..20 {
            app.update(key('+'));
        }
        assert!(app.status.as_deref().unwrap().starts_with("lr stays 10"));
    }

    /// The footer's labels and the help's keys now, from the one keymap.
    fn footer_and_help(app: &App) -> (Vec<&'static str>, Vec<&'static str>) {
        let footer = crate::dashboard::ui::footer::keys_now(app)
            .into_iter()
            .map(|(k, _, _)| k)
            .collect();
        let help = KEYMAP
            .iter()
            .filter_map(|b| b.help.and_then(|(k, what)| what(app).map(|_| k)))
            .collect();
        (footer, help)
    }

    #[test]
    fn capital_s_stops_the_run_only_from_an_attached_viewer_that_steers() {
        // The run's own dashboard: S is no key, and neither footer nor help shows it.
        let mut local = started(0.001);
        let (footer, help) = footer_and_help(&local);
        assert!(
            !footer.contains(&"S") && !help.contains(&"S"),
            "{footer:?} {help:?}"
        );
        assert_eq!(local.update(key('S')), None);
        assert!(local
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("S: not a key")));
        // A read-only viewer: not shown, and it does nothing.
        let mut watcher = started(0.001);
        watcher.mode = Mode::Attached { read_only: true };
        let (footer, help) = footer_and_help(&watcher);
        assert!(
            !footer.contains(&"S") && !help.contains(&"S"),
            "{footer:?} {help:?}"
        );
        assert_eq!(watcher.update(key('S')), None);
        assert!(!watcher.should_quit());
        // A viewer that steers: shown in both, and it stops the run.
        let mut viewer = started(0.001);
        viewer.mode = Mode::Attached { read_only: false };
        let (footer, help) = footer_and_help(&viewer);
        assert!(
            footer.contains(&"S") && help.contains(&"S"),
            "{footer:?} {help:?}"
        );
        assert_eq!(viewer.update(key('S')), Some(Command::Quit));
    }

    #[test]
    fn every_key_in_the_keymap_is_handled_and_every_row_is_reachable() {
        // Each row's keys reach its own action, and no key is in two rows.
        for b in KEYMAP {
            for code in b.keys {
                assert_eq!(
                    keymap::binding(*code).map(|r| r.action),
                    Some(b.action),
                    "{code:?}"
                );
            }
            assert!(
                b.help.is_some() || b.footer.is_none(),
                "{:?}: footer without help",
                b.action
            );
        }
        // Every key the table names does something visible in a started run: a command, a
        // status line or a changed view.
        for b in KEYMAP {
            let mut app = started(0.001);
            // Esc closes the help: open it first.
            app.show_help = b.action == Action::CloseHelp;
            let before = app.clone();
            let command = app.update(Event::Key(KeyEvent::from(b.keys[0])));
            assert!(
                command.is_some() || app != before,
                "{:?} did nothing",
                b.action
            );
        }
    }

    #[test]
    fn samples_carry_the_live_sparsity_and_epochs_the_best_error() {
        let mut app = started(0.001);
        let mut s = sample(10, 1.0);
        s.live_sparsity = vec![vec![0.5, 0.6, 0.7], vec![]];
        app.update(Event::Sample(s));
        assert_eq!(
            app.nets[0].live_sparsity,
            vec![Some(0.5), Some(0.6), Some(0.7)]
        );
        assert_eq!(app.nets[1].live_sparsity, vec![None; 3], "no figure yet");
        assert_eq!(
            app.nets[0].live_history[2].last(),
            Some((10.0 / 800.0, 0.7))
        );
        for (e, err) in [(1, 0.2), (2, 0.1), (3, 0.15)] {
            app.update(Event::Update(Update::Epoch(report("rectifier", e, err))));
        }
        assert_eq!(app.nets[0].best, Some((0.1, 2, 0.1)));
    }

    #[test]
    fn the_eta_follows_the_pace_and_the_clock_runs_through_pauses() {
        let mut app = started(0.001);
        app.update(Event::Tick(Duration::ZERO));
        app.update(Event::Sample(sample(0, 1.0)));
        app.update(Event::Tick(Duration::from_secs(10)));
        // 100 batches in 10 s: 0.1 s a batch; 700 left in this epoch, 9 more epochs of 800.
        app.update(Event::Sample(sample(100, 1.0)));
        let (epoch, run) = app.eta().expect("an ETA");
        assert_eq!(epoch.as_secs(), 70);
        assert_eq!(run.map(|r| r.as_secs()), Some(70 + 9 * 80));
        app.update(Event::Update(Update::State(RunState::Paused)));
        assert_eq!(app.eta(), None, "no ETA while paused");
        app.update(Event::Tick(Duration::from_secs(15)));
        assert_eq!(app.wall_time, Duration::from_secs(15));
        assert_eq!(app.run_time, Duration::from_secs(10));
    }

    #[test]
    fn c_toggles_the_claims_view() {
        let mut app = started(0.001);
        assert!(!app.show_claims);
        assert_eq!(app.update(key('c')), None);
        assert!(app.show_claims);
        app.update(key('c'));
        assert!(!app.show_claims);
    }

    #[test]
    fn d_revives_and_the_answer_is_a_status_and_a_mark() {
        let mut app = started(0.001);
        assert_eq!(app.update(key('d')), Some(Command::ReviveDead));
        let at = Position {
            epoch: 4,
            batch: 0,
            step: 4000,
        };
        app.update(Event::Update(Update::Revived {
            at,
            units: vec![
                vec![vec![3, 7], vec![], vec![1]],
                vec![vec![], vec![], vec![]],
            ],
        }));
        assert_eq!(
            app.status.as_deref(),
            Some("revived 3 dead units (rectifier 3, tanh 0) at epoch 5 batch 0")
        );
        assert_eq!(
            app.marks.iter().last().map(|m| m.change),
            Some(Change::Revive(3))
        );
        app.update(key('x'));
        app.update(Event::Update(Update::Revived {
            at,
            units: vec![vec![vec![]; 3]; 2],
        }));
        assert_eq!(app.status.as_deref(), Some("no dead units to revive"));
        assert_eq!(app.marks.len(), 1, "nothing revived, nothing marked");
    }

    #[test]
    fn help_toggles() {
        let mut app = started(0.001);
        assert_eq!(app.update(key('?')), None);
        assert!(app.show_help);
        app.update(code(KeyCode::Esc));
        assert!(!app.show_help);
    }

    #[test]
    fn values_print_short() {
        assert_eq!(fmt_value(0.1), "0.1");
        assert_eq!(fmt_value(0.2), "0.2");
        assert_eq!(fmt_value(0.0125), "0.0125");
        assert_eq!(fmt_value(0.001), "0.001");
        assert_eq!(fmt_value(0.1 / 1024.0), "9.766e-5");
        assert_eq!(fmt_value(1e-5), "1e-5");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(10.0), "10");
        assert_eq!(fmt_value(3.2), "3.2");
    }
}
