//! The trainer side of the control socket: carries the trainer's channels to viewers that
//! attach over a Unix socket (`relutui attach`), and their commands back.
//!
//! ```text
//!  trainer ──Update/Sample──► forwarder ──► the process's own front end (dashboard, headless)
//!     ▲                          │
//!     │                          └──► hub: history + one bounded queue per viewer
//!     │                                      └──► writer thread ──socket──► viewer
//!     └────────── Command ◄── reader thread ◄──socket── viewer
//! ```
//!
//! The trainer stays on crossbeam and never waits for a viewer: the forwarder hands each
//! update to every viewer's queue with `try_send`. A viewer whose queue of reliable updates
//! fills (it stopped reading) is dropped; it can attach again and gets the whole history.
//! Samples are newest-wins, one slot per viewer. Every message is encoded once, whatever the
//! number of viewers, and not at all when there are none.
//!
//! Security: the socket lives in the run directory's `control/` (mode 0700), is itself made
//! mode 0600 between `bind` and `listen`, and every connection's peer user id (`SO_PEERCRED`)
//! must be this process's, or it is refused. A socket left by a crashed run is detected (it
//! does not answer) and replaced; one that answers means a live run, and is refused.
//!
//! Robustness: a viewer that sends a malformed or oversized frame, or stalls in the middle of
//! one for [`PATIENCE`], or does not say hello within [`PATIENCE`], is dropped; so is one that
//! stops reading for [`PATIENCE`] while the run writes to it. None of this reaches the run.

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender, TrySendError};

use crate::engine::trainer::{self, Trainer, TrainerHandle};
use crate::frontend::run_dir::{RunDir, ShortPath, SOCKET};
use crate::protocol::wire::{
    self, ClientMessage, Refusal, ServerMessage, Welcome, WireCommand, WireRunInfo, WireRunState,
    WireSample, WireUpdate, MAX_CLIENT_FRAME, MAX_VIEWERS, VERSION,
};
use crate::protocol::{Command, EpochReport, Position, Sample, Update};

/// How long a viewer may take to say hello, to finish a frame it began, or to take a frame the
/// run writes to it.
pub const PATIENCE: Duration = Duration::from_secs(5);
/// Reliable updates queued per viewer before it counts as gone.
const QUEUE: usize = 4096;
/// How often a blocked read wakes to check the patience.
const POLL: Duration = Duration::from_millis(250);

type Frame = Arc<[u8]>;

/// The control socket of a run, listening.
pub struct Server {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    socket: PathBuf,
    short: ShortPath,
}

struct Shared {
    hub: Mutex<Hub>,
    /// The trainer's command channel, once it runs.
    commands: Mutex<Option<Sender<Command>>>,
    uid: u32,
    run_dir: PathBuf,
    stop: AtomicBool,
}

#[derive(Default)]
struct Hub {
    /// Every reliable update so far, encoded: a viewer that attaches gets them all.
    history: Vec<Frame>,
    info: Option<WireRunInfo>,
    names: Vec<String>,
    state: Option<WireRunState>,
    position: Position,
    clients: Vec<Client>,
    next_id: u64,
}

struct Client {
    id: u64,
    /// The layer it watches (its last `Focus`), for its own heatmap.
    focus: Option<(usize, usize)>,
    updates: Sender<Frame>,
    samples: Sender<Frame>,
    /// The hub's own handle on the sample slot, to replace a sample the viewer has not taken.
    stale: Receiver<Frame>,
    stream: UnixStream,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A viewer thread that panicked must not take the run down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn note(args: std::fmt::Arguments<'_>) {
    let _ = io::stderr().write_fmt(args);
}

impl Server {
    /// Listens on the run directory's socket. Errors name the socket.
    pub fn bind(run: &RunDir) -> io::Result<Self> {
        let control = run.control_dir()?;
        let socket = control.join(SOCKET);
        let short = ShortPath::new(&socket)?;
        if fs::symlink_metadata(&socket).is_ok() {
            if UnixStream::connect(&short.path).is_ok() {
                return Err(io::Error::other(format!(
                    "{}: a live run answers on this socket",
                    socket.display()
                )));
            }
            // A crashed run's socket: nobody answers on it, so it is replaced, never trusted.
            fs::remove_file(&socket)?;
        }
        let listener = listen(&short.path, &socket)?;
        let shared = Arc::new(Shared {
            hub: Mutex::new(Hub::default()),
            commands: Mutex::new(None),
            uid: rustix::process::getuid().as_raw(),
            run_dir: run.path().to_path_buf(),
            stop: AtomicBool::new(false),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("control-socket".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(Self {
            shared,
            accept: Some(accept),
            socket,
            short,
        })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Viewers attached right now.
    pub fn viewers(&self) -> usize {
        lock(&self.shared.hub).clients.len()
    }

    /// Starts `trainer` on its own thread, as [`trainer::spawn`] does, with this socket between
    /// it and the returned handle. `history` (the epochs of a resumed run's log) reaches the
    /// front end and every viewer right after the trainer's `Started`.
    ///
    /// The handle's thread is the forwarder's: it ends, having passed on everything the
    /// trainer sent, after the trainer has (and re-raises a trainer panic).
    pub fn spawn(&self, trainer: Trainer, history: Vec<EpochReport>) -> io::Result<TrainerHandle> {
        let inner = trainer::spawn(trainer)?;
        *lock(&self.shared.commands) = Some(inner.commands.clone());
        let (update_tx, update_rx) = unbounded();
        let (sample_tx, sample_rx) = bounded(2);
        let stale = sample_rx.clone();
        let shared = Arc::clone(&self.shared);
        let commands = inner.commands.clone();
        let thread = thread::Builder::new()
            .name("forwarder".into())
            .spawn(move || {
                let TrainerHandle {
                    commands: own,
                    updates,
                    samples,
                    thread,
                } = inner;
                drop(own);
                forward(
                    &shared, &updates, &samples, &update_tx, &sample_tx, &stale, history,
                );
                // The front end's queue closes only once the trainer has stopped.
                drop(update_tx);
                *lock(&shared.commands) = None;
                if let Err(panic) = thread.join() {
                    std::panic::resume_unwind(panic);
                }
            })?;
        Ok(TrainerHandle {
            commands,
            updates: update_rx,
            samples: sample_rx,
            thread,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = UnixStream::connect(&self.short.path);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for c in lock(&self.shared.hub).clients.drain(..) {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
        let _ = fs::remove_file(&self.socket);
    }
}

/// `socket`, `bind`, mode 0600, then `listen`: nobody can connect before the mode is set (and
/// the directory is owner-only besides).
fn listen(addr: &Path, socket: &Path) -> io::Result<UnixListener> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let fd: OwnedFd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    let sockaddr = SocketAddrUnix::new(addr)?;
    rustix::net::bind(&fd, &sockaddr)?;
    fs::set_permissions(socket, fs::Permissions::from_mode(0o600))?;
    rustix::net::listen(&fd, 16)?;
    Ok(UnixListener::from(fd))
}

fn accept_loop(listener: &UnixListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                let shared = Arc::clone(shared);
                let spawned = thread::Builder::new()
                    .name("viewer".into())
                    .spawn(move || serve(&shared, stream));
                if spawned.is_err() {
                    note(format_args!(
                        "relutui: warning: cannot start a thread for a viewer; it was dropped\n"
                    ));
                }
            }
            // Out of file descriptors and the like: the run goes on, try again shortly.
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// One viewer, from hello to goodbye.
fn serve(shared: &Arc<Shared>, mut stream: UnixStream) {
    let refuse = |stream: &mut UnixStream, reason: Refusal, client_version: u32| {
        let _ = stream.set_write_timeout(Some(PATIENCE));
        let _ = wire::write_message(
            stream,
            &ServerMessage::Refused {
                server_version: VERSION,
                client_version,
                reason,
            },
        );
    };
    match rustix::net::sockopt::socket_peercred(&stream) {
        Ok(cred) if cred.uid.as_raw() == shared.uid => {}
        Ok(cred) => {
            note(format_args!(
                "relutui: refused a viewer of user id {} (pid {}): this run belongs to user id {}\n",
                cred.uid.as_raw(),
                cred.pid.as_raw_nonzero(),
                shared.uid
            ));
            refuse(&mut stream, Refusal::NotOwner, 0);
            return;
        }
        Err(_) => return,
    }
    if stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let hello = wire::read_message_within::<ClientMessage>(
        &mut stream,
        MAX_CLIENT_FRAME,
        PATIENCE,
        Some(PATIENCE),
    );
    let read_only = match hello {
        Ok(ClientMessage::Hello { version, read_only }) if version == VERSION => read_only,
        Ok(ClientMessage::Hello { version, .. }) => {
            refuse(&mut stream, Refusal::Version, version);
            return;
        }
        _ => return,
    };
    let Some((id, welcome, history, updates, samples)) = register(shared, &stream, read_only)
    else {
        refuse(&mut stream, Refusal::Full, VERSION);
        return;
    };
    let writer = match stream.try_clone() {
        Ok(mut out) => thread::Builder::new()
            .name("viewer-out".into())
            .spawn(move || {
                let _ = out.set_write_timeout(Some(PATIENCE));
                if write_all(&mut out, &welcome, &history, &updates, &samples).is_err() {
                    let _ = out.shutdown(std::net::Shutdown::Both);
                }
            }),
        Err(e) => Err(e),
    };
    if writer.is_ok() {
        read_commands(shared, &mut stream, read_only, id);
    }
    unregister(shared, id);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    if let Ok(w) = writer {
        let _ = w.join();
    }
}

type Registered = (u64, Frame, Vec<Frame>, Receiver<Frame>, Receiver<Frame>);

/// Adds a viewer: its welcome, the history so far and its queues, taken together under the
/// hub's lock so that it misses nothing and gets nothing twice. `None` when full.
fn register(shared: &Shared, stream: &UnixStream, read_only: bool) -> Option<Registered> {
    let clone = stream.try_clone().ok()?;
    let mut hub = lock(&shared.hub);
    if hub.clients.len() >= MAX_VIEWERS {
        return None;
    }
    let id = hub.next_id;
    hub.next_id += 1;
    let welcome = Welcome {
        version: VERSION,
        pid: std::process::id(),
        run_dir: shared.run_dir.clone(),
        run: hub.info.clone(),
        state: hub.state,
        position: hub.position,
        history: hub.history.len(),
        read_only,
    };
    let welcome: Frame = wire::encode(&ServerMessage::Welcome(welcome)).into();
    let (updates_tx, updates_rx) = bounded(QUEUE);
    let (samples_tx, samples_rx) = bounded(1);
    hub.clients.push(Client {
        id,
        focus: None,
        updates: updates_tx,
        samples: samples_tx,
        stale: samples_rx.clone(),
        stream: clone,
    });
    Some((id, welcome, hub.history.clone(), updates_rx, samples_rx))
}

fn unregister(shared: &Shared, id: u64) {
    lock(&shared.hub).clients.retain(|c| c.id != id);
    if let Some(commands) = lock(&shared.commands).as_ref() {
        let _ = commands.send(Command::Watch {
            viewer: id,
            focus: None,
        });
    }
}

/// The viewer's writer: welcome, history, then live frames until the viewer or the run goes.
fn write_all(
    out: &mut UnixStream,
    welcome: &Frame,
    history: &[Frame],
    updates: &Receiver<Frame>,
    samples: &Receiver<Frame>,
) -> io::Result<()> {
    out.write_all(welcome)?;
    for frame in history {
        out.write_all(frame)?;
    }
    loop {
        let frame = select! {
            recv(updates) -> f => f,
            recv(samples) -> f => f,
        };
        match frame {
            Ok(frame) => out.write_all(&frame)?,
            // Unregistered, or the run is over.
            Err(_) => return Ok(()),
        }
    }
}

/// The viewer's commands, until it goes or breaks the protocol. Its `Focus` is its own: the
/// trainer is asked to snapshot that layer too ([`Command::Watch`]), and the viewer gets it.
fn read_commands(shared: &Shared, stream: &mut UnixStream, read_only: bool, id: u64) {
    loop {
        match wire::read_message::<ClientMessage>(stream, MAX_CLIENT_FRAME, PATIENCE) {
            Ok(ClientMessage::Command(cmd)) => {
                if read_only && !cmd.is_view_only() {
                    continue;
                }
                let cmd = match cmd {
                    WireCommand::Focus { net, layer } => {
                        let mut hub = lock(&shared.hub);
                        if let Some(c) = hub.clients.iter_mut().find(|c| c.id == id) {
                            c.focus = Some((net, layer));
                        }
                        Command::Watch {
                            viewer: id,
                            focus: Some((net, layer)),
                        }
                    }
                    // A value its rule refuses (lr -1, say) is dropped, as the run's own
                    // keys never send one.
                    other => match Command::try_from(other) {
                        Ok(cmd) => cmd,
                        Err(_) => continue,
                    },
                };
                if let Some(commands) = lock(&shared.commands).as_ref() {
                    let _ = commands.send(cmd);
                }
            }
            // A second hello is a confused viewer: drop it.
            Ok(ClientMessage::Hello { .. }) | Err(_) => return,
        }
    }
}

impl Hub {
    fn update(&mut self, u: &Update) {
        match u {
            Update::Started(info) => {
                self.names = info.nets.iter().map(|n| n.name.clone()).collect();
                self.info = Some(info.into());
                self.position = Position::default();
            }
            Update::State(s) => self.state = Some((*s).into()),
            Update::Epoch(r) if r.step >= self.position.step => {
                self.position = Position {
                    epoch: r.epoch,
                    batch: 0,
                    step: r.step,
                };
            }
            _ => {}
        }
        let frame: Frame = wire::encode(&ServerMessage::Update(WireUpdate::from_update(
            u,
            &self.names,
        )))
        .into();
        self.history.push(Arc::clone(&frame));
        self.clients
            .retain(|c| match c.updates.try_send(Arc::clone(&frame)) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    // It stopped reading: drop it rather than wait (it can attach again).
                    let _ = c.stream.shutdown(std::net::Shutdown::Both);
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
    }

    fn sample(&mut self, s: &Sample) {
        self.position = s.at;
        if self.clients.is_empty() {
            return;
        }
        // Encoded once per distinct heatmap, whatever the number of viewers.
        let mut frames: Vec<(Option<(usize, usize)>, Frame)> = Vec::new();
        for c in &self.clients {
            let snapshot = match c.focus {
                Some(f) => s.snapshot_for(f),
                None => s.activations.as_ref(),
            };
            let key = snapshot.map(|a| (a.net, a.layer));
            let frame = if let Some((_, f)) = frames.iter().find(|(k, _)| *k == key) {
                Arc::clone(f)
            } else {
                let f: Frame =
                    wire::encode(&ServerMessage::Sample(WireSample::for_viewer(s, snapshot)))
                        .into();
                frames.push((key, Arc::clone(&f)));
                f
            };
            if let Err(TrySendError::Full(f)) = c.samples.try_send(frame) {
                let _ = c.stale.try_recv();
                let _ = c.samples.try_send(f);
            }
        }
    }
}

/// Passes everything the trainer sends to the front end and to the hub, until the trainer
/// has stopped.
fn forward(
    shared: &Shared,
    updates: &Receiver<Update>,
    samples: &Receiver<Sample>,
    front: &Sender<Update>,
    front_samples: &Sender<Sample>,
    stale: &Receiver<Sample>,
    history: Vec<EpochReport>,
) {
    let mut history = Some(history).filter(|h| !h.is_empty());
    let mut samples = samples.clone();
    loop {
        select! {
            recv(updates) -> u => {
                let Ok(u) = u else { return };
                let started = matches!(u, Update::Started(_));
                lock(&shared.hub).update(&u);
                // A front end that has gone is stopping the trainer: keep draining.
                let _ = front.send(u);
                if started {
                    if let Some(h) = history.take() {
                        let u = Update::History(h);
                        lock(&shared.hub).update(&u);
                        let _ = front.send(u);
                    }
                }
            },
            recv(samples) -> s => {
                let Ok(s) = s else {
                    samples = crossbeam_channel::never();
                    continue;
                };
                lock(&shared.hub).sample(&s);
                if let Err(TrySendError::Full(s)) = front_samples.try_send(s) {
                    let _ = stale.try_recv();
                    let _ = front_samples.try_send(s);
                }
            },
        }
    }
}
