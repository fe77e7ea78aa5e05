//! [`Command`] in its wire form, [`WireCommand`], and back: a viewer's command is checked by
//! the rules of [`crate::engine::config`] before it becomes a trainer's [`Command`].

use serde::{Deserialize, Serialize};

use crate::engine::config::{Invalid, L1Penalty, LearningRate};
use crate::protocol::Command;

/// [`Command`] on the wire. `Stop` is [`Command::Quit`]: it ends the run, and a viewer only
/// sends it on its deliberate stop key; detaching sends nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum WireCommand {
    Pause,
    Resume,
    Step,
    SetLr { lr: f32 },
    SetL1 { l1: f32 },
    SetNetLr { net: usize, lr: f32 },
    SetNetL1 { net: usize, l1: f32 },
    Reinit { seed: u64 },
    Focus { net: usize, layer: usize },
    ReviveDead,
    Checkpoint,
    RestoreLastGood,
    Stop,
}

impl WireCommand {
    /// Whether a read-only viewer may send it: only what changes its own view.
    pub fn is_view_only(&self) -> bool {
        matches!(self, WireCommand::Focus { .. })
    }
}

impl WireCommand {
    /// The wire form of a front end's command; `None` for [`Command::Watch`], which the
    /// bridge makes for the trainer and no viewer sends.
    pub fn from_command(c: &Command) -> Option<Self> {
        Some(match *c {
            Command::Pause => Self::Pause,
            Command::Resume => Self::Resume,
            Command::Step => Self::Step,
            Command::SetLr(lr) => Self::SetLr { lr: lr.get() },
            Command::SetL1(l1) => Self::SetL1 { l1: l1.get() },
            Command::SetNetLr { net, lr } => Self::SetNetLr { net, lr: lr.get() },
            Command::SetNetL1 { net, l1 } => Self::SetNetL1 { net, l1: l1.get() },
            Command::Reinit { seed } => Self::Reinit { seed },
            Command::Focus { net, layer } => Self::Focus { net, layer },
            Command::ReviveDead => Self::ReviveDead,
            Command::Checkpoint => Self::Checkpoint,
            Command::RestoreLastGood => Self::RestoreLastGood,
            Command::Quit => Self::Stop,
            Command::Watch { .. } => return None,
        })
    }
}

/// A viewer's command, checked by the rules a run's own flags and keys obey: a learning
/// rate of -1 or an L1 penalty of NaN from an attached viewer is refused here, by
/// [`LearningRate::new`] and [`L1Penalty::new`], before it reaches the trainer.
impl TryFrom<WireCommand> for Command {
    type Error = Invalid;

    fn try_from(c: WireCommand) -> Result<Self, Invalid> {
        Ok(match c {
            WireCommand::Pause => Self::Pause,
            WireCommand::Resume => Self::Resume,
            WireCommand::Step => Self::Step,
            WireCommand::SetLr { lr } => Self::SetLr(LearningRate::new(lr)?),
            WireCommand::SetL1 { l1 } => Self::SetL1(L1Penalty::new(l1)?),
            WireCommand::SetNetLr { net, lr } => Self::SetNetLr {
                net,
                lr: LearningRate::new(lr)?,
            },
            WireCommand::SetNetL1 { net, l1 } => Self::SetNetL1 {
                net,
                l1: L1Penalty::new(l1)?,
            },
            WireCommand::Reinit { seed } => Self::Reinit { seed },
            WireCommand::Focus { net, layer } => Self::Focus { net, layer },
            WireCommand::ReviveDead => Self::ReviveDead,
            WireCommand::Checkpoint => Self::Checkpoint,
            WireCommand::RestoreLastGood => Self::RestoreLastGood,
            WireCommand::Stop => Self::Quit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_the_wire_form() {
        for c in [
            Command::Pause,
            Command::Resume,
            Command::Step,
            Command::SetLr(LearningRate::new(0.2).unwrap()),
            Command::SetL1(L1Penalty::NONE),
            Command::SetNetLr {
                net: 1,
                lr: LearningRate::new(0.05).unwrap(),
            },
            Command::SetNetL1 {
                net: 0,
                l1: L1Penalty::new(0.002).unwrap(),
            },
            Command::Reinit { seed: 7 },
            Command::Focus { net: 1, layer: 2 },
            Command::ReviveDead,
            Command::Checkpoint,
            Command::RestoreLastGood,
            Command::Quit,
        ] {
            let wire = WireCommand::from_command(&c).unwrap();
            let json = serde_json::to_string(&wire).unwrap();
            let back: WireCommand = serde_json::from_str(&json).unwrap();
            assert_eq!(Command::try_from(back), Ok(c), "{json}");
        }
        let watch = Command::Watch {
            viewer: 3,
            focus: Some((1, 2)),
        };
        assert_eq!(WireCommand::from_command(&watch), None, "the bridge's own");
    }

    #[test]
    fn a_viewers_bad_rate_or_penalty_is_refused_by_the_configs_rule() {
        for (json, rule) in [
            (r#"{"command":"set_lr","lr":-1.0}"#, "above 0"),
            (r#"{"command":"set_lr","lr":0.0}"#, "above 0"),
            (r#"{"command":"set_net_lr","net":0,"lr":-0.5}"#, "above 0"),
            (r#"{"command":"set_l1","l1":-0.001}"#, "at least 0"),
            (
                r#"{"command":"set_net_l1","net":1,"l1":-2.0}"#,
                "at least 0",
            ),
        ] {
            let wire: WireCommand = serde_json::from_str(json).unwrap();
            let e = Command::try_from(wire).unwrap_err();
            assert!(e.to_string().contains(rule), "{json}: {e}");
        }
        // JSON has no NaN or infinity, but a peer's f32 can still be one.
        for bad in [f32::NAN, f32::INFINITY] {
            assert!(matches!(
                Command::try_from(WireCommand::SetLr { lr: bad }),
                Err(Invalid::LearningRate(_))
            ));
            assert!(matches!(
                Command::try_from(WireCommand::SetNetL1 { net: 0, l1: bad }),
                Err(Invalid::L1Penalty(_))
            ));
        }
    }
}
