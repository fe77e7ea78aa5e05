//! Key handling: [`App::update`] finds a key's row in the keymap ([`super::keymap`]) and does
//! its [`Action`]; the keys that mean something else away from the trainer (attach, replay)
//! are answered first.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::{binding, Action};
use super::{fmt_value, App, Mode};
use crate::engine::config::{L1Penalty, LearningRate};
use crate::protocol::{Command, RunState};

/// The learning rate never goes above this with `+` …
pub const LR_MAX: f32 = 10.0;
/// … nor below this with `-`.
pub const LR_MIN: f32 = 1e-6;
/// `]` never raises the L1 penalty above this.
pub const L1_MAX: f32 = 1.0;
/// `[` below this sets the L1 penalty to exactly 0.
pub const L1_FLOOR: f32 = 1e-6;
/// `]` from 0 goes to the run's initial L1, or to this when the run started at 0.
pub const L1_RESTART: f32 = 1e-5;

/// What [`App::on_remote_key`] made of a key.
enum RemoteKey {
    /// The key is answered: this command (or none) goes to the trainer.
    Handled(Option<Command>),
    /// The key means what it means in the run's own dashboard.
    Pass,
}

impl App {
    /// `]` from 0 goes back to the run's initial L1, or to [`L1_RESTART`] when it started at 0.
    pub fn l1_restart(&self) -> f32 {
        if self.initial_l1 > 0.0 {
            self.initial_l1
        } else {
            L1_RESTART
        }
    }

    /// An attached viewer that may steer the run (`S` stops it there).
    pub fn steers_remotely(&self) -> bool {
        self.mode == Mode::Attached { read_only: false }
    }

    pub(super) fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Alt-keys are no commands (and a terminal's late answer to a query reads as them).
        if key.modifiers.contains(KeyModifiers::ALT) {
            return None;
        }
        self.status = None;
        let quitting = ctrl || matches!(key.code, KeyCode::Char('q' | 'Q'));
        if std::mem::take(&mut self.confirm_reinit) && !quitting {
            if matches!(key.code, KeyCode::Char('r' | 'y' | 'Y')) {
                self.seed = self.seed.wrapping_add(1);
                self.status = Some(format!(
                    "re-initialising from seed {}: the previous run's numbers are in the log",
                    self.seed
                ));
                return Some(Command::Reinit { seed: self.seed });
            }
            self.status = Some("kept the run: nothing re-initialised".into());
            return None;
        }
        if self.mode != Mode::Local {
            if let RemoteKey::Handled(command) = self.on_remote_key(key.code, ctrl) {
                return command;
            }
        }
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(self.quit());
        }
        let Some(binding) = binding(key.code) else {
            // Until the trainer has described the run there is nothing to change.
            self.status = if self.info.is_none() {
                Some("the trainer is starting: only q and ? work yet".into())
            } else if let KeyCode::Char(c) = key.code {
                Some(format!("{c}: not a key here; ? lists the keys"))
            } else {
                None
            };
            return None;
        };
        let action = binding.action;
        if self.show_help && matches!(action, Action::FocusNext | Action::FocusBack) {
            self.help_page = 1 - self.help_page.min(1);
            return None;
        }
        if !binding.early && self.info.is_none() {
            self.status = Some("the trainer is starting: only q and ? work yet".into());
            return None;
        }
        self.act(action, key.code)
    }

    /// Does what `action` asks (pressed as `code`).
    fn act(&mut self, action: Action, code: KeyCode) -> Option<Command> {
        match action {
            Action::Quit => Some(self.quit()),
            Action::Help => {
                self.show_help = !self.show_help;
                self.help_page = 0;
                None
            }
            Action::CloseHelp => {
                self.show_help = false;
                None
            }
            Action::Claims => {
                self.show_claims = !self.show_claims;
                None
            }
            Action::SparsityChart => {
                self.show_sparsity_chart = !self.show_sparsity_chart;
                None
            }
            Action::History => {
                self.full_history = !self.full_history;
                self.status = Some(if self.full_history {
                    "full history: every chart covers the whole run (h: newest only)".into()
                } else {
                    "newest history: the sparklines show the latest points (h: whole run)".into()
                });
                None
            }
            Action::KeysTarget => {
                self.keys_focused = !self.keys_focused;
                self.sync_key_values();
                self.status = Some(format!(
                    "lr and L1 keys now change {}",
                    self.key_target_name()
                ));
                None
            }
            Action::Pause => self.toggle_pause(),
            Action::Step => {
                if self.intended_state() == Some(RunState::Paused) {
                    Some(Command::Step)
                } else {
                    self.status = Some(match self.intended_state() {
                        Some(RunState::Done) => "done: nothing to step (r starts again)".into(),
                        _ => "n steps one batch while paused: press space first".into(),
                    });
                    None
                }
            }
            Action::LrUp => self.set_lr(self.lr * 2.0),
            Action::LrDown => self.set_lr(self.lr / 2.0),
            Action::L1Up => {
                let l1 = if self.l1 == 0.0 {
                    self.l1_restart()
                } else {
                    self.l1 * 2.0
                };
                self.set_l1(l1.min(L1_MAX))
            }
            Action::L1Down => {
                let l1 = self.l1 / 2.0;
                self.set_l1(if l1 < L1_FLOOR { 0.0 } else { l1 })
            }
            Action::FocusNext => self.move_focus(true),
            Action::FocusBack => self.move_focus(false),
            Action::Save => {
                self.checkpoint_asked = true;
                self.status = Some("saving a checkpoint…".into());
                Some(Command::Checkpoint)
            }
            Action::Restore => {
                if self.nets.iter().any(|n| n.diverged) {
                    Some(Command::RestoreLastGood)
                } else {
                    self.status = Some("nothing to restore: no network has diverged".into());
                    None
                }
            }
            Action::Revive => {
                self.status = Some("looking for dead units…".into());
                Some(Command::ReviveDead)
            }
            Action::Reinit => {
                self.confirm_reinit = true;
                self.status = Some(format!(
                    "re-initialise every network from seed {}? r or y: yes, any other key: no",
                    self.seed.wrapping_add(1)
                ));
                None
            }
            // A steering viewer's `S` was answered above (`on_remote_key`); here it is no key.
            Action::Stop => {
                if let KeyCode::Char(c) = code {
                    self.status = Some(format!("{c}: not a key here; ? lists the keys"));
                }
                None
            }
        }
    }

    /// Space: pause or resume, from the state the previous press asked for.
    pub(super) fn toggle_pause(&mut self) -> Option<Command> {
        let (command, next) = match self.intended_state()? {
            RunState::Running => (Command::Pause, RunState::Paused),
            RunState::Paused => (Command::Resume, RunState::Running),
            RunState::Done => {
                self.status = Some("done: nothing to pause (r starts again, q quits)".into());
                return None;
            }
        };
        self.pending_states.push(next);
        Some(command)
    }

    /// Keys that mean something else away from the trainer: `Some(answer)` when handled.
    fn on_remote_key(&mut self, code: KeyCode, ctrl: bool) -> RemoteKey {
        let steer = self.mode == Mode::Attached { read_only: false };
        match code {
            // Detach (or leave the replay): the run, if any, goes on.
            KeyCode::Char('c') if ctrl => {
                self.quit = true;
                RemoteKey::Handled(None)
            }
            KeyCode::Char('q') => {
                self.quit = true;
                RemoteKey::Handled(None)
            }
            // The deliberate stop: a capital S, and only for a viewer that steers.
            KeyCode::Char('S') if steer && self.info.is_some() => {
                RemoteKey::Handled(Some(self.quit()))
            }
            KeyCode::Char('?' | 'c') | KeyCode::Esc | KeyCode::Tab | KeyCode::BackTab => {
                RemoteKey::Pass
            }
            _ if steer => RemoteKey::Pass,
            KeyCode::Char(_) => {
                self.status = Some(if self.mode == Mode::Replay {
                    "replay: nothing to steer (q leaves, c claims, tab focus, ? help)".into()
                } else {
                    "read-only viewer: q detaches; attach without --read-only to steer".into()
                });
                RemoteKey::Handled(None)
            }
            _ => RemoteKey::Handled(None),
        }
    }

    pub(super) fn quit(&mut self) -> Command {
        self.quit = true;
        Command::Quit
    }

    #[expect(
        clippy::float_cmp,
        reason = "asking for the same exact value again is no change"
    )]
    pub(super) fn set_lr(&mut self, lr: f32) -> Option<Command> {
        let lr = lr.clamp(LR_MIN, LR_MAX);
        if lr == self.lr {
            self.status = Some(format!(
                "lr stays {}: it goes from {} to {}",
                fmt_value(lr),
                fmt_value(LR_MIN),
                fmt_value(LR_MAX)
            ));
            return None;
        }
        // The clamp keeps it in the rule; a NaN that got this far is no key's to send.
        let checked = LearningRate::new(lr).ok()?;
        self.lr = lr;
        Some(match self.key_target() {
            Some(net) => Command::SetNetLr { net, lr: checked },
            None => Command::SetLr(checked),
        })
    }

    /// The network the lr and L1 keys change (`None`: all of them).
    pub fn key_target(&self) -> Option<usize> {
        (self.keys_focused && self.nets.len() > 1).then_some(self.focus.0)
    }

    /// What the lr and L1 keys change, in words: `every network` or the focused one's name.
    pub fn key_target_name(&self) -> String {
        match self.key_target().and_then(|i| self.nets.get(i)) {
            Some(v) => format!("{} only (a: every network)", v.info.name),
            None => "every network (a: the focused one only)".into(),
        }
    }

    /// `lr` / `l1` (what the header shows and the keys start from): the target network's
    /// values, or the first network's when the keys change all.
    pub(super) fn sync_key_values(&mut self) {
        let view = self.nets.get(self.key_target().unwrap_or(0));
        if let Some(v) = view {
            if let (Some(lr), Some(l1)) = (v.lr, v.l1) {
                (self.lr, self.l1) = (lr, l1);
            }
        }
    }

    #[expect(
        clippy::float_cmp,
        reason = "asking for the same exact value again is no change"
    )]
    pub(super) fn set_l1(&mut self, l1: f32) -> Option<Command> {
        if l1 == self.l1 {
            self.status = Some(format!(
                "l1 stays {}: it goes from 0 to {}",
                fmt_value(l1),
                fmt_value(L1_MAX)
            ));
            return None;
        }
        let checked = L1Penalty::new(l1).ok()?;
        self.l1 = l1;
        Some(match self.key_target() {
            Some(net) => Command::SetNetL1 { net, l1: checked },
            None => Command::SetL1(checked),
        })
    }

    /// Moves the heatmap focus to the next (or previous) hidden layer, across networks.
    pub(super) fn move_focus(&mut self, forward: bool) -> Option<Command> {
        let layers = self.layers();
        let total = self.nets.len() * layers;
        if total == 0 {
            return None;
        }
        let i = self.focus.0 * layers + self.focus.1;
        let i = if forward {
            (i + 1) % total
        } else {
            (i + total - 1) % total
        };
        self.focus = (i / layers, i % layers);
        self.sync_key_values();
        Some(Command::Focus {
            net: self.focus.0,
            layer: self.focus.1,
        })
    }
}
