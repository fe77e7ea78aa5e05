//! The trainer's two sides of the channels: the [`Outbox`] it sends through (reliable updates,
//! lossy newest-wins samples), the [`TrainerHandle`] a front end holds, and [`spawn`].

use super::Trainer;
use crate::protocol::Command;
use crate::protocol::Sample;
use crate::protocol::Update;
use crossbeam_channel::bounded;
use crossbeam_channel::unbounded;
use crossbeam_channel::Receiver;
use crossbeam_channel::Sender;
use crossbeam_channel::TrySendError;
use std::thread::JoinHandle;

/// The front end's side of a running trainer.
pub struct TrainerHandle {
    pub commands: Sender<Command>,
    pub updates: Receiver<Update>,
    pub samples: Receiver<Sample>,
    pub thread: JoinHandle<()>,
}

/// The trainer thread panicked: what [`TrainerHandle::stop`] says then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the trainer thread panicked")]
pub struct TrainerPanicked;

impl TrainerHandle {
    /// The one way every front end stops a trainer: asks it to quit (it also stops when it
    /// finds the command channel closed), joins it, and returns the updates it sent that
    /// nobody has read yet, in order (the epoch reports the log must still get).
    pub fn stop(self) -> Result<Vec<Update>, TrainerPanicked> {
        let TrainerHandle {
            commands,
            updates,
            samples,
            thread,
        } = self;
        let _ = commands.send(Command::Quit);
        drop(commands);
        drop(samples);
        // The updates channel is unbounded: the trainer never waits on it while stopping.
        let panicked = thread.join().is_err();
        let left = updates.try_iter().collect();
        if panicked {
            Err(TrainerPanicked)
        } else {
            Ok(left)
        }
    }
}

/// The trainer's sending side: reliable updates and lossy, newest-wins samples.
pub struct Outbox {
    updates: Sender<Update>,
    samples: Sender<Sample>,
    /// The trainer's own handle on the sample queue, to drop a stale sample for a newer one.
    stale: Receiver<Sample>,
}

impl Outbox {
    /// Sends a reliable update; `false` when the front end is gone.
    pub(super) fn send(&self, u: Update) -> bool {
        self.updates.send(u).is_ok()
    }

    /// Offers a sample without ever blocking: a full queue loses its oldest sample.
    pub(super) fn offer(&self, s: Sample) {
        match self.samples.try_send(s) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(s)) => {
                let _ = self.stale.try_recv();
                let _ = self.samples.try_send(s);
            }
        }
    }
}

/// Starts `trainer` on its own thread.
pub fn spawn(trainer: Trainer) -> std::io::Result<TrainerHandle> {
    let (cmd_tx, cmd_rx) = unbounded();
    let (upd_tx, upd_rx) = unbounded();
    let (smp_tx, smp_rx) = bounded(2);
    let out = Outbox {
        updates: upd_tx,
        samples: smp_tx,
        stale: smp_rx.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("trainer".into())
        .spawn(move || trainer.run(&cmd_rx, &out))?;
    Ok(TrainerHandle {
        commands: cmd_tx,
        updates: upd_rx,
        samples: smp_rx,
        thread,
    })
}
