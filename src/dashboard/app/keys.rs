//! The keymap: one table ([`KEYMAP`]) that says which keys do what, when each is worth a place
//! in the footer and what the help says of it, and the handling of each [`Action`]. The
//! footer ([`crate::dashboard::ui::footer`]) and the help ([`crate::dashboard::ui::help`])
//! read the table; [`App::update`] dispatches through it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{fmt_value, App, Mode};
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

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pause,
    Step,
    LrUp,
    LrDown,
    L1Up,
    L1Down,
    FocusNext,
    FocusBack,
    KeysTarget,
    Claims,
    SparsityChart,
    History,
    Revive,
    Reinit,
    Save,
    Restore,
    /// `S`: an attached viewer that steers stops the run (`q` only detaches).
    Stop,
    Help,
    CloseHelp,
    Quit,
}

/// A key's place in the footer: its label, where it goes (lower first) and, while it
/// applies, what it does in full and in short.
#[derive(Clone, Copy)]
pub struct Footer {
    pub label: &'static str,
    pub rank: u8,
    pub now: fn(&App) -> Option<(&'static str, &'static str)>,
}

/// What the help says of a key in the app's state now; `None` where it does not apply.
pub type HelpText = fn(&App) -> Option<String>;

/// One row of the keymap.
#[derive(Clone, Copy)]
pub struct Binding {
    pub action: Action,
    /// The keys that do it (ctrl-c quits too, whatever the table says).
    pub keys: &'static [KeyCode],
    /// It works before the trainer has described the run.
    pub early: bool,
    /// The keys as the help names them, and what it says of them where they apply; `None`:
    /// described in another row.
    pub help: Option<(&'static str, HelpText)>,
    /// `None`: not in the footer.
    pub footer: Option<Footer>,
}

const fn key(c: char) -> KeyCode {
    KeyCode::Char(c)
}

/// Whether the trainer has described the run, so that the keys that steer it mean something.
fn started(app: &App) -> bool {
    app.info.is_some()
}

/// Every key of the dashboard, in the help's order.
pub static KEYMAP: &[Binding] = &[
    Binding {
        action: Action::Pause,
        keys: &[key(' ')],
        early: false,
        help: Some(("space", |_| Some("pause / resume training".into()))),
        footer: Some(Footer {
            label: "space",
            rank: 1,
            now: |app| match app.intended_state() {
                Some(RunState::Running) => Some(("pause", "pause")),
                Some(RunState::Paused) => Some(("resume", "run")),
                Some(RunState::Done) | None => None,
            },
        }),
    },
    Binding {
        action: Action::Step,
        keys: &[key('n')],
        early: false,
        help: Some(("n", |_| Some("train one mini-batch (while paused)".into()))),
        footer: Some(Footer {
            label: "n",
            rank: 2,
            now: |app| (app.intended_state() == Some(RunState::Paused)).then_some(("step", "step")),
        }),
    },
    Binding {
        action: Action::LrUp,
        keys: &[key('+'), key('=')],
        early: false,
        help: Some(("+ or =", |_| {
            Some(format!(
                "double the learning rate (at most {})",
                fmt_value(LR_MAX)
            ))
        })),
        footer: Some(Footer {
            label: "+/-",
            rank: 3,
            now: |app| started(app).then_some(("lr", "lr")),
        }),
    },
    Binding {
        action: Action::LrDown,
        keys: &[key('-'), key('_')],
        early: false,
        help: Some(("-", |_| {
            Some(format!(
                "halve the learning rate (at least {})",
                fmt_value(LR_MIN)
            ))
        })),
        footer: None,
    },
    Binding {
        action: Action::L1Up,
        keys: &[key(']')],
        early: false,
        help: Some(("]", |app| {
            Some(format!(
                "double the L1 penalty; from 0 back to {}",
                fmt_value(app.l1_restart())
            ))
        })),
        footer: Some(Footer {
            label: "]/[",
            rank: 4,
            now: |app| started(app).then_some(("l1", "l1")),
        }),
    },
    Binding {
        action: Action::L1Down,
        keys: &[key('[')],
        early: false,
        help: Some(("[", |_| {
            Some(format!(
                "halve the L1 penalty; below {} it is 0",
                fmt_value(L1_FLOOR)
            ))
        })),
        footer: None,
    },
    Binding {
        action: Action::FocusNext,
        keys: &[KeyCode::Tab],
        early: false,
        help: Some(("tab", |_| {
            Some("next heatmap layer, then network; shift-tab: back".into())
        })),
        footer: Some(Footer {
            label: "tab",
            rank: 5,
            now: |app| started(app).then_some(("layer", "layer")),
        }),
    },
    Binding {
        action: Action::FocusBack,
        keys: &[KeyCode::BackTab],
        early: false,
        help: None,
        footer: None,
    },
    Binding {
        action: Action::KeysTarget,
        keys: &[key('a')],
        early: true,
        help: Some(("a", |app| {
            Some(format!(
                "lr/L1 keys change: {}",
                if app.key_target().is_some() {
                    "the focused network (tab moves)"
                } else {
                    "every network; a: the focused one"
                }
            ))
        })),
        footer: None,
    },
    Binding {
        action: Action::Claims,
        keys: &[key('c')],
        early: true,
        help: Some(("c", |_| {
            Some("claims view: the paper's four reasons for sparsity".into())
        })),
        footer: Some(Footer {
            label: "c",
            rank: 6,
            now: |app| started(app).then_some(("claims", "claims")),
        }),
    },
    Binding {
        action: Action::SparsityChart,
        keys: &[key('s')],
        early: true,
        help: Some(("s", |_| {
            Some("sparsity chart: the focused layer's exact zeros over time".into())
        })),
        footer: Some(Footer {
            label: "s",
            rank: 7,
            now: |app| started(app).then_some(("sparsity", "zeros")),
        }),
    },
    Binding {
        action: Action::History,
        keys: &[key('h')],
        early: true,
        help: Some(("h", |_| {
            Some("full history: the sparklines cover the whole run".into())
        })),
        footer: Some(Footer {
            label: "h",
            rank: 8,
            now: |app| started(app).then_some(("history", "hist")),
        }),
    },
    Binding {
        action: Action::Revive,
        keys: &[key('d')],
        early: false,
        help: Some(("d", |_| {
            Some("revive dead units (re-initialise their weights)".into())
        })),
        footer: Some(Footer {
            label: "d",
            rank: 9,
            now: |app| started(app).then_some(("revive", "revive")),
        }),
    },
    Binding {
        action: Action::Reinit,
        keys: &[key('r')],
        early: false,
        help: Some(("r", |_| {
            Some("re-initialise every network from the next seed (asks first)".into())
        })),
        footer: Some(Footer {
            label: "r",
            rank: 11,
            now: |app| {
                started(app).then_some(if app.intended_state() == Some(RunState::Done) {
                    ("run again", "again")
                } else {
                    ("reinit", "reinit")
                })
            },
        }),
    },
    Binding {
        action: Action::Save,
        keys: &[key('w')],
        early: false,
        help: Some(("w", |_| {
            Some("save a checkpoint now (needs --checkpoint FILE)".into())
        })),
        footer: Some(Footer {
            label: "w",
            rank: 10,
            now: |app| (started(app) && app.checkpoint.is_some()).then_some(("save", "save")),
        }),
    },
    Binding {
        action: Action::Restore,
        keys: &[key('u')],
        early: false,
        help: Some(("u", |_| {
            Some("let DIVERGED networks train again (lower lr first)".into())
        })),
        // It matters only while a network is frozen after a divergence: then it leads.
        footer: Some(Footer {
            label: "u",
            rank: 0,
            now: |app| {
                app.nets
                    .iter()
                    .any(|n| n.diverged)
                    .then_some(("restore", "restore"))
            },
        }),
    },
    Binding {
        action: Action::Stop,
        keys: &[key('S')],
        early: false,
        help: Some(("S", |app| {
            app.steers_remotely()
                .then(|| "stop the run (q only detaches; the run goes on)".into())
        })),
        footer: Some(Footer {
            label: "S",
            rank: 12,
            now: |app| (app.steers_remotely() && started(app)).then_some(("stop run", "stop")),
        }),
    },
    Binding {
        action: Action::Help,
        keys: &[key('?')],
        early: true,
        help: Some(("?  esc", |_| {
            Some("close this help; tab: how to read the screen".into())
        })),
        footer: Some(Footer {
            label: "?",
            rank: 13,
            now: |_| Some(("help", "help")),
        }),
    },
    Binding {
        action: Action::CloseHelp,
        keys: &[KeyCode::Esc],
        early: true,
        help: None,
        footer: None,
    },
    Binding {
        action: Action::Quit,
        keys: &[key('q'), key('Q')],
        early: true,
        help: Some(("q  ctrl-c", |_| Some("quit".into()))),
        footer: Some(Footer {
            label: "q",
            rank: 14,
            now: |_| Some(("quit", "quit")),
        }),
    },
];

/// The row of the table a key belongs to.
pub fn binding(code: KeyCode) -> Option<&'static Binding> {
    KEYMAP.iter().find(|b| b.keys.contains(&code))
}

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
        self.lr = lr;
        Some(match self.key_target() {
            Some(net) => Command::SetNetLr { net, lr },
            None => Command::SetLr(lr),
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
        self.l1 = l1;
        Some(match self.key_target() {
            Some(net) => Command::SetNetL1 { net, l1 },
            None => Command::SetL1(l1),
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
