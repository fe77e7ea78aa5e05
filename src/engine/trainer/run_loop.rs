//! The run loop on the trainer thread: train a batch, drain the commands between batches
//! (block while paused or done), offer samples, end epochs, and save when it stops.

use super::{copy_weights, Outbox, Trainer, SAMPLE_INTERVAL};
use crate::protocol::Command;
use crate::protocol::RunState;
use crate::protocol::Sample;
use crate::protocol::Update;
use crossbeam_channel::Receiver;
use crossbeam_channel::TryRecvError;
use std::time::Instant;

impl Trainer {
    /// Runs until `Quit` or until the command channel closes, then saves a checkpoint when
    /// there is a file for it and anything changed since the last one.
    pub fn run(mut self, commands: &Receiver<Command>, out: &Outbox) {
        self.run_loop(commands, out);
        if self.unsaved {
            if let Some(update) = self.save_checkpoint() {
                let _ = out.send(update);
            }
        }
    }

    pub(super) fn run_loop(&mut self, commands: &Receiver<Command>, out: &Outbox) {
        let mut state = if self.done() {
            RunState::Done
        } else {
            RunState::Running
        };
        if !out.send(Update::Started(self.info()))
            || !out.send(self.net_settings())
            || !out.send(Update::State(state))
            || !self.announce_phase(out)
        {
            return;
        }
        let mut epoch_start = Instant::now();
        let mut last_sample = Instant::now();
        let mut sample_examples = 0usize;
        loop {
            // Poll for commands while running; block (no CPU) while paused or done.
            let cmd = if state == RunState::Running {
                match commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return,
                }
            };
            let mut step_once = false;
            if let Some(cmd) = cmd {
                let was = state;
                match self.apply(cmd, &mut state, out) {
                    Flow::Quit => return,
                    Flow::Step => step_once = true,
                    Flow::Refocus => {
                        last_sample = Instant::now()
                            .checked_sub(SAMPLE_INTERVAL)
                            .unwrap_or_else(Instant::now);
                    }
                    Flow::Go => {}
                }
                if was == RunState::Paused && state == RunState::Running {
                    epoch_start = Instant::now();
                }
                if state != RunState::Running && !step_once {
                    // Idle: still answer a focus change with a fresh snapshot. A pause is
                    // answered at once, so that the paused screen shows the exact position.
                    let paused_now = was == RunState::Running && state == RunState::Paused;
                    if self.samples_enabled
                        && (paused_now || last_sample.elapsed() >= SAMPLE_INTERVAL)
                    {
                        out.offer(self.make_sample(sample_examples, &mut last_sample));
                        sample_examples = 0;
                    }
                    continue;
                }
            }

            if self.pretrain.is_some() {
                let mut sample = (sample_examples, last_sample);
                if !self.pretrain_iteration(out, &mut sample, step_once, &mut epoch_start) {
                    return;
                }
                (sample_examples, last_sample) = sample;
                continue;
            }
            sample_examples += self.train_batch();
            if !self.report_divergences(out) {
                return;
            }
            if self.samples_enabled && (step_once || last_sample.elapsed() >= SAMPLE_INTERVAL) {
                out.offer(self.make_sample(sample_examples, &mut last_sample));
                sample_examples = 0;
            }
            if self.epoch_complete() {
                let secs = epoch_start.elapsed().as_secs_f64();
                let reports = self.finish_epoch(secs);
                if !self.report_divergences(out) || !self.report_stops(out) {
                    return;
                }
                for report in reports {
                    if !out.send(Update::Epoch(report)) {
                        return;
                    }
                }
                if let Some(update) = self.save_checkpoint() {
                    if !out.send(update) {
                        return;
                    }
                }
                epoch_start = Instant::now();
                if self.done() {
                    state = RunState::Done;
                    if !out.send(Update::State(state)) {
                        return;
                    }
                }
            }
        }
    }

    /// Applies one command, reporting what changed. A closed update channel means quit.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "commands arrive by value from the channel and are used up here"
    )]
    pub(super) fn apply(&mut self, cmd: Command, state: &mut RunState, out: &Outbox) -> Flow {
        let update = match cmd {
            Command::Quit => return Flow::Quit,
            Command::Pause if *state == RunState::Running => {
                *state = RunState::Paused;
                Update::State(*state)
            }
            Command::Resume if *state == RunState::Paused => {
                *state = RunState::Running;
                Update::State(*state)
            }
            Command::Step if *state == RunState::Paused => return Flow::Step,
            // The values were checked where they came in (flag, key or viewer): the types
            // hold the rules, so no guard repeats them here.
            Command::SetLr(lr) => {
                let lr = lr.get();
                // In the pre-training phase the phase's own rate.
                if let Some(p) = self.pretrain.as_mut() {
                    p.lr = lr;
                } else {
                    self.nets.iter_mut().for_each(|n| n.lr = lr);
                    self.lr = lr;
                }
                self.unsaved = true;
                if !out.send(self.net_settings()) {
                    return Flow::Quit;
                }
                Update::LrChanged { at: self.pos, lr }
            }
            Command::SetL1(l1) => {
                let l1 = l1.get();
                self.nets.iter_mut().for_each(|n| n.l1 = l1);
                self.l1 = l1;
                self.unsaved = true;
                if !out.send(self.net_settings()) {
                    return Flow::Quit;
                }
                Update::L1Changed { at: self.pos, l1 }
            }
            Command::SetNetLr { net, lr } if net < self.nets.len() => {
                self.nets[net].lr = lr.get();
                self.sync_plain_settings();
                self.unsaved = true;
                self.net_settings()
            }
            Command::SetNetL1 { net, l1 } if net < self.nets.len() => {
                self.nets[net].l1 = l1.get();
                self.sync_plain_settings();
                self.unsaved = true;
                self.net_settings()
            }
            Command::Checkpoint => self.save_checkpoint().unwrap_or_else(|| {
                Update::CheckpointFailed(
                    "no checkpoint file: start relutui with --checkpoint FILE".into(),
                )
            }),
            Command::RestoreLastGood => {
                let nets: Vec<usize> = self
                    .nets
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, n)| n.diverged)
                    .map(|(i, n)| {
                        copy_weights(&mut n.mlp, &n.last_good);
                        n.diverged = false;
                        i
                    })
                    .collect();
                self.unsaved |= !nets.is_empty();
                Update::Restored { at: self.pos, nets }
            }
            Command::Reinit { seed } => {
                self.init_nets(seed);
                if !out.send(Update::Reinitialised { at: self.pos, seed })
                    || !self.announce_phase(out)
                {
                    return Flow::Quit;
                }
                if *state != RunState::Done {
                    return Flow::Refocus;
                }
                *state = RunState::Running;
                Update::State(*state)
            }
            Command::ReviveDead => {
                let nets = self.nets.iter_mut().map(|n| &mut n.mlp);
                let units = self.claims.revive(nets, self.seed, self.pos.step);
                self.unsaved = true;
                Update::Revived {
                    at: self.pos,
                    units,
                }
            }
            Command::Focus { net, layer } => {
                self.focus = (net, layer);
                return Flow::Refocus;
            }
            Command::Watch { viewer, focus } => {
                match focus {
                    Some(f) => self.watchers.insert(viewer, f),
                    None => self.watchers.remove(&viewer),
                };
                return Flow::Refocus;
            }
            // Commands that do not apply in this state (pause while paused, …) change nothing.
            _ => return Flow::Go,
        };
        if out.send(update) {
            Flow::Go
        } else {
            Flow::Quit
        }
    }

    pub(super) fn make_sample(&mut self, examples: usize, last: &mut Instant) -> Sample {
        let elapsed = last.elapsed().as_secs_f64();
        *last = Instant::now();
        let losses = self
            .nets
            .iter_mut()
            .map(|n| {
                let l = if n.sample_batches == 0 {
                    f32::NAN
                } else {
                    (n.sample_loss / n.sample_batches as f64) as f32
                };
                n.sample_loss = 0.0;
                n.sample_batches = 0;
                l
            })
            .collect();
        let (activations, watched) = self.snapshots();
        Sample {
            at: self.pretrain_position().unwrap_or(self.pos),
            losses,
            examples_per_sec: if elapsed > 0.0 {
                examples as f64 / elapsed
            } else {
                0.0
            },
            activations,
            watched,
            live_sparsity: self.nets.iter().map(|n| n.live.fractions()).collect(),
        }
    }
}

/// What the run loop does after a command.
pub(super) enum Flow {
    Go,
    Step,
    Refocus,
    Quit,
}
