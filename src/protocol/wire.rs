//! The wire protocol between a run's control socket ([`crate::frontend::bridge`]) and the viewers that
//! attach to it (`relutui attach`).
//!
//! Every message is one *frame*: a 4-byte big-endian length, then that many bytes of JSON.
//! The length is checked against a cap before the body is read, so a huge prefix costs
//! nothing. The messages are the in-process ones of [`crate::protocol`] in a wire form that is
//! versioned and self-describing: no NaN (an absent value is `null`), enums rather than
//! strings, networks named by their index in [`WireRunInfo::nets`].
//!
//! A session:
//!
//! ```text
//!  viewer                              run
//!  Hello { version, read_only }  ──►
//!                                ◄──  Welcome { version, run, state, position, history }
//!                                     (or Refused { server_version, client_version, reason })
//!                                ◄──  Update × history   (everything so far, in order)
//!                                ◄──  Update / Sample …  (live)
//!  Command …                     ──►
//! ```
//!
//! After `Welcome` the run sends its whole history of reliable updates (the same ones the
//! in-process dashboard got), then live updates and samples. Samples are lossy: a viewer that
//! reads slowly gets the newest one.
//!
//! | module | what it holds |
//! | --- | --- |
//! | this file | the session's messages: `Hello`, `Welcome`, `Refused`, the caps |
//! | [`frame`] | the frame codec: length prefix, size cap, deadlines |
//! | [`command`] | [`WireCommand`], a viewer's command, checked on the way in |
//! | [`update`] | [`WireUpdate`], [`WireRunInfo`], [`WireRunState`] |
//! | [`sample`] | [`WireSample`], the lossy live measurements |

pub mod command;
pub mod frame;
pub mod sample;
pub mod update;

pub use command::WireCommand;
pub use frame::{encode, read_message, read_message_within, write_message, FrameError};
pub use sample::{WireSample, WireSnapshot};
pub use update::{WireNetInfo, WireRunInfo, WireRunState, WireUpdate};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::protocol::Position;

/// Bumped on every change of the messages below that an older peer would misread.
pub const VERSION: u32 = 1;

/// The largest frame a run accepts from a viewer: commands are tiny.
pub const MAX_CLIENT_FRAME: u32 = 64 * 1024;
/// The largest frame a viewer accepts from a run (an activation snapshot of a wide layer).
pub const MAX_SERVER_FRAME: u32 = 16 * 1024 * 1024;

/// What a viewer sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message: who is asking, and whether it means to steer.
    Hello {
        version: u32,
        read_only: bool,
    },
    Command(WireCommand),
}

/// What a run sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to a good `Hello`; `history` updates follow at once.
    Welcome(Welcome),
    /// The answer to a `Hello` the run will not serve; the connection closes after it.
    Refused {
        server_version: u32,
        client_version: u32,
        reason: Refusal,
    },
    Update(WireUpdate),
    Sample(WireSample),
}

/// Why a run refused a viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The viewer speaks another protocol version.
    Version,
    /// The connecting process belongs to another user.
    NotOwner,
    /// Too many viewers are attached already.
    Full,
}

impl Refusal {
    /// One line for a person.
    pub fn explain(self, server_version: u32, client_version: u32) -> String {
        match self {
            Refusal::Version => format!(
                "the run speaks protocol version {server_version}, this relutui speaks version \
                 {client_version}: attach with the relutui that started the run"
            ),
            Refusal::NotOwner => "the run belongs to another user".into(),
            Refusal::Full => format!("the run has {MAX_VIEWERS} viewers attached already"),
        }
    }
}

/// The most viewers one run serves at once.
pub const MAX_VIEWERS: usize = 16;

/// The run as it is when a viewer attaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub version: u32,
    /// The trainer's process id.
    pub pid: u32,
    pub run_dir: PathBuf,
    /// `None` until the trainer has described the run.
    pub run: Option<WireRunInfo>,
    pub state: Option<WireRunState>,
    pub position: Position,
    /// Reliable updates that follow this message before anything live.
    pub history: usize,
    /// The run serves this viewer read-only (it asked to).
    pub read_only: bool,
}
