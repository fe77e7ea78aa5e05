//! The frame codec: a 4-byte big-endian length, then that many bytes of JSON, with the length
//! checked against a cap before the body is read and a deadline on a frame once it has begun.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection between frames.
    #[error("the connection closed")]
    Closed,
    #[error("a frame of {len} bytes is over the limit of {cap}")]
    TooLarge { len: u32, cap: u32 },
    #[error("a frame was cut short")]
    Truncated,
    #[error("a frame took longer than {0:?} to arrive")]
    Slow(Duration),
    #[error("a frame is not a valid message: {0}")]
    Malformed(serde_json::Error),
    #[error("{0}")]
    Io(io::Error),
}

/// Serialises `msg` as one frame (length prefix included).
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut out = vec![0u8; 4];
    serde_json::to_writer(&mut out, msg).expect("protocol messages always serialise");
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Writes one message as a frame.
pub fn write_message<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg))?;
    w.flush()
}

/// Reads one frame of at most `cap` bytes and parses it.
///
/// `patience` bounds how long a frame may take once its first byte has arrived; the reader's
/// own read timeout (which must be shorter, or none for a reader that may wait forever between
/// frames) is the poll interval. A frame that has not begun when a read times out is not an
/// error: the call goes on waiting.
pub fn read_message<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
    cap: u32,
    patience: Duration,
) -> Result<T, FrameError> {
    read_message_within(r, cap, patience, None)
}

/// [`read_message`], but a frame must also begin within `first` when that is given.
pub fn read_message_within<T: for<'de> Deserialize<'de>>(
    r: &mut impl Read,
    cap: u32,
    patience: Duration,
    first: Option<Duration>,
) -> Result<T, FrameError> {
    let mut header = [0u8; 4];
    let since = Instant::now();
    read_full(r, &mut header, patience, first.map(|f| (since, f)), false)?;
    let len = u32::from_be_bytes(header);
    if len > cap {
        return Err(FrameError::TooLarge { len, cap });
    }
    let mut body = vec![0u8; len as usize];
    read_full(
        r,
        &mut body,
        patience,
        Some((Instant::now(), patience)),
        true,
    )?;
    serde_json::from_slice(&body).map_err(FrameError::Malformed)
}

/// Fills `buf`. Until its first byte has arrived, a read timeout means "no frame yet" (an
/// error only once `first` = (since, limit) has passed) and EOF means "closed" (for a header;
/// a `body` that is missing is cut short); after it, the frame must complete within
/// `patience`.
fn read_full(
    r: &mut impl Read,
    buf: &mut [u8],
    patience: Duration,
    first: Option<(Instant, Duration)>,
    body: bool,
) -> Result<(), FrameError> {
    let mut filled = 0;
    let mut began: Option<Instant> = None;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) if began.is_none() && !body => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => {
                filled += n;
                began.get_or_insert_with(Instant::now);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
        if filled < buf.len() {
            let late = match began {
                Some(t) => t.elapsed() >= patience,
                None => first.is_some_and(|(t, f)| t.elapsed() >= f),
            };
            if late {
                return Err(FrameError::Slow(patience));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::{ClientMessage, WireCommand, MAX_CLIENT_FRAME, VERSION};

    #[test]
    fn frames_round_trip() {
        let msg = ClientMessage::Command(WireCommand::SetLr { lr: 0.05 });
        let bytes = encode(&msg);
        let back: ClientMessage =
            read_message(&mut &bytes[..], MAX_CLIENT_FRAME, Duration::from_secs(1)).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn a_huge_length_is_refused_before_the_body_is_read() {
        let mut bytes = u32::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        let err = read_message::<ClientMessage>(
            &mut &bytes[..],
            MAX_CLIENT_FRAME,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn cut_short_and_garbage_frames_are_errors() {
        let bytes = encode(&ClientMessage::Hello {
            version: VERSION,
            read_only: false,
        });
        let cut = &bytes[..bytes.len() - 3];
        let err =
            read_message::<ClientMessage>(&mut &cut[..], 1024, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, FrameError::Truncated), "{err}");
        let mut garbage = 5u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(b"\xff\x00{[x");
        let err = read_message::<ClientMessage>(&mut &garbage[..], 1024, Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(err, FrameError::Malformed(_)), "{err}");
        let err =
            read_message::<ClientMessage>(&mut &b""[..], 1024, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, FrameError::Closed), "{err}");
    }
}
