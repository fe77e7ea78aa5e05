//! Lines for people on stderr that never panic: `eprintln!` panics when stderr is gone (the
//! terminal behind it vanished, or `2>&-`), which would turn a lost terminal into a crash.

/// `eprintln!` that ignores a failed write.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}
