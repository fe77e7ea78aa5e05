//! What the machine has: the memory the process can still get, and bytes in words. Used by
//! the engine's estimate ([`crate::engine::memory`]) and by the data readers, which refuse a
//! file that declares more than fits.

/// Bytes the process can still get: `MemAvailable` from `/proc/meminfo`, or the cgroup's limit
/// less its usage when that is smaller. `None` when neither can be read.
pub fn available() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb * 1024.0)
    });
    let read = |p: &str| -> Option<f64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    // cgroup v2, then v1 (whose "no limit" is a huge number, harmless in a min).
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .map(|max| max - read("/sys/fs/cgroup/memory.current").unwrap_or(0.0))
        .or_else(|| {
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes")
                .map(|max| max - read("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0.0))
        });
    match (meminfo, cgroup) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Human-readable bytes: `123 MB`, `40.0 GB`, `4.6e13 bytes` past a petabyte.
pub fn human(bytes: f64) -> String {
    if bytes >= 1e15 {
        format!("{bytes:.1e} bytes")
    } else if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", bytes / 1e6)
    }
}
