//! Colours that read on dark and on light terminals.
//!
//! The background is taken from `--theme dark|light` when given, else from the terminal:
//! `COLORFGBG` (set by rxvt, Konsole and others: `"15;0"` is light text on a dark background),
//! else an OSC 11 query ("what is your background colour?") answered within
//! [`OSC11_TIMEOUT`]; a terminal that does not answer is taken to be dark. Nothing on screen
//! means something by colour alone, and nothing is drawn in bright white (palette 15), which
//! vanishes on a white background.

use std::time::Duration;

use ratatui::style::Color;

/// How long to wait for the terminal's answer to the OSC 11 query.
pub const OSC11_TIMEOUT: Duration = Duration::from_millis(150);

/// The terminal's background.
/// Its `--theme` flag values are [`crate::cli::ThemeChoice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

impl From<crate::cli::ThemeChoice> for Theme {
    fn from(choice: crate::cli::ThemeChoice) -> Self {
        match choice {
            crate::cli::ThemeChoice::Dark => Theme::Dark,
            crate::cli::ThemeChoice::Light => Theme::Light,
        }
    }
}

impl Theme {
    /// The strongest text colour: the terminal's own foreground, which reads on its own
    /// background whatever that is (drawn bold where it matters).
    pub fn strong(self) -> Color {
        Color::Reset
    }

    /// Muted text.
    pub fn muted(self) -> Color {
        match self {
            Theme::Dark => Color::DarkGray,
            Theme::Light => Color::Gray,
        }
    }

    /// The heatmap's non-zero levels, faint to strong against the background.
    pub fn ramp(self) -> [Color; 4] {
        match self {
            Theme::Dark => [Color::DarkGray, Color::Blue, Color::Cyan, Color::Gray],
            Theme::Light => [Color::Gray, Color::Cyan, Color::Blue, Color::Black],
        }
    }

    /// Train, valid and test error lines.
    pub fn errors(self) -> [Color; 3] {
        match self {
            Theme::Dark => [Color::Gray, Color::LightCyan, Color::Yellow],
            Theme::Light => [Color::DarkGray, Color::Blue, Color::Red],
        }
    }

    /// Key names in the footer and help.
    pub fn key(self) -> Color {
        match self {
            Theme::Dark => Color::LightCyan,
            Theme::Light => Color::Blue,
        }
    }
}

/// The background from `COLORFGBG` (`fg;bg` or `fg;default;bg`): palette 0-6 and 8 are dark,
/// 7 and 9-15 light. `None` when unset or unreadable.
pub fn from_colorfgbg(value: &str) -> Option<Theme> {
    let bg: u8 = value.rsplit(';').next()?.trim().parse().ok()?;
    Some(match bg {
        0..=6 | 8 => Theme::Dark,
        7 | 9..=15 => Theme::Light,
        _ => return None,
    })
}

/// The background from an OSC 11 answer, `ESC ] 11 ; rgb:RRRR/GGGG/BBBB` (1 to 4 hex digits
/// per channel) ended by BEL or ST: light when its luminance is above one half.
pub fn from_osc11(answer: &[u8]) -> Option<Theme> {
    let text = std::str::from_utf8(answer).ok()?;
    let rgb = text.split("rgb:").nth(1)?;
    let rgb = rgb.trim_end_matches(['\u{7}', '\\', '\u{1b}']);
    let mut channels = rgb.split('/').map(|c| {
        let c: String = c.chars().take_while(char::is_ascii_hexdigit).collect();
        let max = 16_f64.powi(i32::try_from(c.len()).ok()?) - 1.0;
        (!c.is_empty() && c.len() <= 4)
            .then(|| u32::from_str_radix(&c, 16).ok())
            .flatten()
            .map(|v| f64::from(v) / max)
    });
    let (r, g, b) = (channels.next()??, channels.next()??, channels.next()??);
    let luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    Some(if luminance > 0.5 {
        Theme::Light
    } else {
        Theme::Dark
    })
}

/// Asks the terminal for its background (OSC 11) and waits at most [`OSC11_TIMEOUT`].
/// Call in raw mode, before anything else reads the keyboard.
pub fn query_osc11() -> Option<Theme> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use std::io::Write;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    out.write_all(b"\x1b]11;?\x07").ok()?;
    out.flush().ok()?;
    let start = std::time::Instant::now();
    let mut answer = Vec::new();
    while answer.len() < 64 {
        let left = OSC11_TIMEOUT.checked_sub(start.elapsed())?;
        let timeout = Timespec::try_from(left).ok()?;
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        if poll(&mut fds, Some(&timeout)).ok()? == 0 {
            return None;
        }
        let mut byte = [0u8; 1];
        if rustix::io::read(&stdin, &mut byte).ok()? == 0 {
            return None;
        }
        answer.push(byte[0]);
        let ended = byte[0] == 0x07 || answer.ends_with(b"\x1b\\");
        if ended {
            return from_osc11(&answer);
        }
    }
    None
}

/// The theme: `--theme` if given, else `COLORFGBG`, else the terminal's OSC 11 answer (only
/// where `query` is true, in raw mode), else dark.
pub fn detect(flag: Option<Theme>, query: bool) -> Theme {
    if let Some(t) = flag {
        return t;
    }
    if let Some(t) = std::env::var("COLORFGBG")
        .ok()
        .as_deref()
        .and_then(from_colorfgbg)
    {
        return t;
    }
    if query {
        if let Some(t) = query_osc11() {
            return t;
        }
    }
    Theme::Dark
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colorfgbg_names_the_background() {
        assert_eq!(from_colorfgbg("15;0"), Some(Theme::Dark));
        assert_eq!(from_colorfgbg("0;15"), Some(Theme::Light));
        assert_eq!(from_colorfgbg("0;default;7"), Some(Theme::Light));
        assert_eq!(from_colorfgbg("12;8"), Some(Theme::Dark));
        assert_eq!(from_colorfgbg(""), None);
        assert_eq!(from_colorfgbg("0;200"), None);
    }

    #[test]
    fn osc11_answers_are_read_by_luminance() {
        assert_eq!(
            from_osc11(b"\x1b]11;rgb:ffff/ffff/ffff\x07"),
            Some(Theme::Light)
        );
        assert_eq!(
            from_osc11(b"\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\"),
            Some(Theme::Dark)
        );
        assert_eq!(from_osc11(b"\x1b]11;rgb:fd/f6/e3\x07"), Some(Theme::Light));
        assert_eq!(from_osc11(b"\x1b]11;rgb:00/2b/36\x07"), Some(Theme::Dark));
        assert_eq!(from_osc11(b"garbage"), None);
    }
}
