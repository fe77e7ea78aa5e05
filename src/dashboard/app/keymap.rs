//! The keymap: one table ([`KEYMAP`]) that says which keys do what, when each is worth a place
//! in the footer and what the help says of it. Key handling ([`super::keys`]), the footer
//! ([`crate::dashboard::ui::footer`]) and the help ([`crate::dashboard::ui::help`]) all read
//! it, so a key cannot be handled without being listed, or listed where it does nothing.

use crossterm::event::KeyCode;

use super::keys::{L1_FLOOR, LR_MAX, LR_MIN};
use super::{fmt_value, App};
use crate::protocol::RunState;

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
