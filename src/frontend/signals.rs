//! The process's first moments: signal handlers installed before anything else, so that
//! SIGTERM, SIGINT or SIGHUP arriving while the flags are parsed, the data is loaded or a
//! checkpoint is read is remembered and acted on as soon as a front end listens (the run stops
//! cleanly, saves its checkpoint and exits 128 + N), instead of killing the process outright.
//!
//! A SIGHUP that the process inherited as ignored (`nohup relutui …`, or a shell's `trap ''
//! HUP`) stays ignored: relutui never listens for it then, as `nohup` users expect, and the run
//! goes on when the terminal goes away.
//!
//! Subcommands that do not listen for signals (`sweep`, `bench`) get the default action back
//! with [`default_action`].

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Receiver};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

struct Early {
    pending: Arc<AtomicUsize>,
    default: Arc<AtomicBool>,
    hup_ignored: bool,
}

static EARLY: OnceLock<Early> = OnceLock::new();

/// Whether `signal` was ignored when the process started (Linux: the `SigIgn` mask of
/// `/proc/self/status`; elsewhere assumed not).
fn inherited_ignored(signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1u64 << (signal - 1)) != 0)
}

/// Installs the early handlers. Call it first thing in `main`; later calls do nothing.
pub fn install() {
    EARLY.get_or_init(|| {
        let hup_ignored = inherited_ignored(SIGHUP);
        let early = Early {
            pending: Arc::new(AtomicUsize::new(0)),
            default: Arc::new(AtomicBool::new(false)),
            hup_ignored,
        };
        for signal in handled_with(hup_ignored) {
            // Failing to register leaves the default action, which is what we had before.
            let _ = signal_hook::flag::register_usize(
                signal,
                Arc::clone(&early.pending),
                signal as usize,
            );
            let _ =
                signal_hook::flag::register_conditional_default(signal, Arc::clone(&early.default));
        }
        early
    });
}

fn handled_with(hup_ignored: bool) -> Vec<i32> {
    let mut v = vec![SIGTERM, SIGINT];
    if !hup_ignored {
        v.push(SIGHUP);
    }
    v
}

/// The signals a front end should listen for: SIGTERM, SIGINT and SIGHUP, less SIGHUP when it
/// was inherited as ignored.
pub fn handled() -> Vec<i32> {
    handled_with(hup_ignored())
}

/// Whether SIGHUP was ignored when the process started (under `nohup`).
pub fn hup_ignored() -> bool {
    EARLY.get().is_some_and(|e| e.hup_ignored)
}

/// The last signal that arrived since [`install`], if any, and forgets it. A front end calls
/// it once its own listener is up, so that nothing that arrived before is lost.
pub fn take_pending() -> Option<i32> {
    let n = EARLY.get()?.pending.swap(0, Ordering::SeqCst);
    i32::try_from(n).ok().filter(|&n| n != 0)
}

/// Gives the handled signals their default action (termination) back, for code that does
/// not listen for them; a signal that already arrived takes effect now.
pub fn default_action() {
    if let Some(e) = EARLY.get() {
        e.default.store(true, Ordering::SeqCst);
        if let Some(n) = take_pending() {
            let _ = signal_hook::low_level::emulate_default_handler(n);
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP as channel messages, from a thread of their own. Listening
/// replaces the default action (termination) for as long as the process lives.
pub struct SignalListener {
    receiver: Receiver<i32>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl SignalListener {
    pub fn new() -> io::Result<Self> {
        let mut signals = Signals::new(handled())?;
        let handle = signals.handle();
        let (tx, receiver) = bounded(8);
        // A signal that arrived before this listener existed (see `crate::frontend::signals`).
        if let Some(n) = take_pending() {
            let _ = tx.try_send(n);
        }
        let thread = thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    // Never block: a signal nobody reads any more is dropped.
                    let _ = tx.try_send(signal);
                }
            })?;
        Ok(Self {
            receiver,
            handle,
            thread: Some(thread),
        })
    }

    pub fn receiver(&self) -> &Receiver<i32> {
        &self.receiver
    }
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
