//! Which vector instructions relutui's kernels run with, and a way to force a lower level.
//!
//! `pulp` compiles every kernel (the [`super::kernels`], [`super::small_batch`] and the
//! activation loops) once per instruction set and picks one at run time. Left alone it takes
//! the best the CPU has: AVX-512 (pulp's `V4`), AVX2 + FMA (`V3`) or one lane of scalar code
//! on x86-64, NEON or scalar on aarch64. [`force`] (from `--simd` or `RELUTUI_SIMD`) lowers
//! that level for the whole process, so that one machine can measure and test every path it
//! can run; [`with_level`] does the same for one thread (the tests).
//!
//! `gemm` 0.19, used for the dense products of batches above
//! [`super::small_batch::MAX_ROWS`], offers no way to choose its level: it checks the CPU
//! itself (AVX-512F, else FMA, else scalar) and keeps its choice in a private static. At a
//! forced AVX2 or scalar level [`super::gemm::mat_mul`] runs gemm's own kernel set for that
//! level instead; only where there is none (a forced level `gemm` has no set for),
//! [`gemm_allowed`] is false and those products go to relutui's own kernels.

#![allow(
    clippy::inline_always,
    reason = "pulp compiles a kernel for the CPU's vector features only where it is inlined into its dispatch"
)]

use pulp::{Simd, WithSimd};
use std::cell::Cell;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// A vector instruction set the kernels can be compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// One lane at a time: no vector instructions.
    Scalar,
    /// x86-64 AVX2 with FMA (x86-64-v3): 8 lanes of f32.
    Avx2,
    /// x86-64 AVX-512 F/BW/CD/DQ/VL (x86-64-v4): 16 lanes of f32.
    Avx512,
    /// aarch64 NEON: 4 lanes of f32.
    Neon,
}

impl Level {
    /// Every level, widest first.
    pub const ALL: [Level; 4] = [Level::Avx512, Level::Avx2, Level::Neon, Level::Scalar];

    /// The name used by `--simd`, `relutui --version` and the bench's `simd` field.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
            Level::Neon => "neon",
        }
    }

    /// f32 lanes per vector.
    pub fn lanes(self) -> usize {
        match self {
            Level::Scalar => 1,
            Level::Neon => 4,
            Level::Avx2 => 8,
            Level::Avx512 => 16,
        }
    }

    /// Whether this CPU (and this build) can run the kernels at this level.
    pub fn is_available(self) -> bool {
        Self::arch_for(self).is_some()
    }

    /// The levels this CPU can run, widest first (always ending with scalar).
    pub fn available() -> Vec<Level> {
        Self::ALL.into_iter().filter(|l| l.is_available()).collect()
    }

    /// The level `pulp` picks on its own: the widest available.
    pub fn detected() -> Level {
        Self::ALL
            .into_iter()
            .find(|l| l.is_available())
            .unwrap_or(Level::Scalar)
    }

    /// The level `gemm` 0.19 picks on its own, by the same CPU checks it makes.
    pub fn of_gemm() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Level::Avx512;
            }
            if std::arch::is_x86_feature_detected!("fma") {
                return Level::Avx2;
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") {
                return Level::Neon;
            }
        }
        Level::Scalar
    }

    fn arch_for(self) -> Option<pulp::Arch> {
        match self {
            Level::Scalar => Some(pulp::Arch::Scalar),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => pulp::x86::V4::try_new().map(pulp::Arch::V4),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => pulp::x86::V3::try_new().map(pulp::Arch::V3),
            #[cfg(target_arch = "aarch64")]
            Level::Neon => pulp::aarch64::Neon::try_new().map(pulp::Arch::Neon),
            #[allow(
                unreachable_patterns,
                reason = "which levels exist depends on the target"
            )]
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Level::Scalar => 1,
            Level::Avx2 => 2,
            Level::Avx512 => 3,
            Level::Neon => 4,
        }
    }

    fn from_code(code: u8) -> Option<Level> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `--simd` value: the detected level or a named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Auto,
    Level(Level),
}

impl FromStr for Choice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Choice::Auto),
            "avx512" | "avx-512" | "v4" => Ok(Choice::Level(Level::Avx512)),
            "avx2" | "v3" => Ok(Choice::Level(Level::Avx2)),
            "neon" => Ok(Choice::Level(Level::Neon)),
            "scalar" | "none" => Ok(Choice::Level(Level::Scalar)),
            other => Err(format!(
                "unknown SIMD level '{other}' (expected auto, avx512, avx2, neon or scalar)"
            )),
        }
    }
}

/// Parses a `--simd` value and checks that this CPU can run it (the clap value parser).
///
/// # Errors
/// An unknown name, or a level the CPU lacks (the message lists the ones it has).
pub fn parse_choice(s: &str) -> Result<Choice, String> {
    let choice: Choice = s.parse()?;
    match choice {
        Choice::Level(l) if !l.is_available() => Err(format!(
            "this CPU cannot run {l} (it can run: {})",
            available_names()
        )),
        c => Ok(c),
    }
}

/// The available levels as `"avx512, avx2, scalar"`.
pub fn available_names() -> String {
    Level::available()
        .iter()
        .map(|l| l.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The process-wide level: 0 for auto, else [`Level::code`].
static FORCED: AtomicU8 = AtomicU8::new(0);

thread_local! {
    /// A per-thread override of [`FORCED`] (see [`with_level`]).
    static THREAD: Cell<Option<Level>> = const { Cell::new(None) };
}

/// Sets the level for the whole process (`Auto`: the detected one).
///
/// # Errors
/// If the CPU cannot run the level; nothing changes then.
pub fn force(choice: Choice) -> Result<(), String> {
    let code = match choice {
        Choice::Auto => 0,
        Choice::Level(l) if l.is_available() => l.code(),
        Choice::Level(l) => {
            return Err(format!(
                "this CPU cannot run {l} (it can run: {})",
                available_names()
            ))
        }
    };
    FORCED.store(code, Ordering::Relaxed);
    Ok(())
}

/// The environment variable that sets the level when `--simd` is not given.
pub const ENV: &str = "RELUTUI_SIMD";

/// Applies [`ENV`] if it is set (and not empty).
///
/// # Errors
/// One line naming the variable, for an unknown or unavailable level or a value that is not
/// UTF-8.
pub fn force_from_env() -> Result<(), String> {
    let Some(raw) = std::env::var_os(ENV) else {
        return Ok(());
    };
    let Some(value) = raw.to_str() else {
        return Err(format!("{ENV}: the value is not UTF-8"));
    };
    if value.trim().is_empty() {
        return Ok(());
    }
    let choice = parse_choice(value).map_err(|e| format!("{ENV}={value}: {e}"))?;
    force(choice)
}

/// Whether this CPU runs 512-bit vector instructions as two halves on 256-bit units: AMD's
/// Zen 4 (CPU family 0x19; Zen 3, the same family, has no AVX-512). There AVX-512's dense
/// products gain less over AVX2's than on Intel's cores with two 512-bit FMA ports, so
/// skipping zeros pays at higher densities (see `products::sparse_max_density_at`). Read once
/// from CPUID; always false off x86-64.
pub fn avx512_on_half_width_units() -> bool {
    static HALF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HALF.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::__cpuid;
            let vendor = __cpuid(0);
            let mut name = [0u8; 12];
            for (i, reg) in [vendor.ebx, vendor.edx, vendor.ecx].into_iter().enumerate() {
                name[4 * i..4 * i + 4].copy_from_slice(&reg.to_le_bytes());
            }
            half_width_avx512(&name, __cpuid(1).eax)
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

/// [`avx512_on_half_width_units`] from CPUID's vendor string (leaf 0) and signature (leaf 1
/// `eax`).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn half_width_avx512(vendor: &[u8; 12], signature: u32) -> bool {
    let base = (signature >> 8) & 0xf;
    let family = if base == 0xf {
        base + ((signature >> 20) & 0xff)
    } else {
        base
    };
    vendor == b"AuthenticAMD" && family == 0x19
}

/// `relutui --version`: the version, then the SIMD level on a second line.
pub fn version_line(version: &str) -> &'static str {
    Box::leak(format!("{version}\nsimd: {}", describe()).into_boxed_str())
}

/// Runs `f` on this thread with the kernels at `level` (which must be available), then
/// restores the previous level. Threads that the kernels spawn inherit it.
///
/// # Panics
/// If the CPU cannot run `level`.
pub fn with_level<R>(level: Level, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Level>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD.with(|t| t.set(self.0));
        }
    }
    assert!(level.is_available(), "this CPU cannot run {level}");
    let _restore = Restore(THREAD.with(|t| t.replace(Some(level))));
    f()
}

/// The level the kernels dispatch to now, on this thread.
pub fn active() -> Level {
    THREAD
        .with(Cell::get)
        .or_else(|| Level::from_code(FORCED.load(Ordering::Relaxed)))
        .unwrap_or_else(Level::detected)
}

/// Whether `gemm`'s kernels can run at the level in force (see [`super::gemm::runs_at`]).
pub fn gemm_allowed() -> bool {
    super::gemm::runs_at(active())
}

/// The `pulp` dispatcher for the level in force.
#[inline]
pub fn arch() -> pulp::Arch {
    active().arch_for().unwrap_or(pulp::Arch::Scalar)
}

/// Runs `f` compiled for the level in force: a plain loop inside `f` is auto-vectorised with
/// that level's instructions (the activation loops use this).
///
/// Only code inlined into the dispatch gets the level's features. So `f`, and every closure
/// a kernel's `with_simd` calls, is written `#[inline(always)] || …`, and the loops are plain
/// loops rather than ndarray's generic ones: a closure left out of line is compiled for the
/// build's baseline, and in a build without `target-cpu=native` its pulp operations become
/// calls. Before this rule a generic x86-64 build ran the forced-AVX2 rectifier step 14×
/// slower than a native one, slower than its own scalar path; now within 10 %.
#[inline]
pub fn vectorize<R>(f: impl FnOnce() -> R) -> R {
    struct Run<F>(F);
    impl<R, F: FnOnce() -> R> WithSimd for Run<F> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> R {
            (self.0)()
        }
    }
    arch().dispatch(Run(f))
}

/// The f32 lanes of the vectors the kernels really get now: pulp's own answer, not the
/// level's nominal width.
pub fn dispatched_lanes() -> usize {
    struct Lanes;
    impl WithSimd for Lanes {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> usize {
            std::mem::size_of::<S::f32s>() / std::mem::size_of::<f32>()
        }
    }
    arch().dispatch(Lanes)
}

/// One line for `--version` and the dashboard's help: `"avx512 (can run: avx512, avx2, scalar)"`.
pub fn describe() -> String {
    let a = active();
    let forced = if a == Level::detected() {
        ""
    } else {
        ", forced"
    };
    format!("{a}{forced} (this CPU can run: {})", available_names())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for l in Level::ALL {
            assert_eq!(l.name().parse::<Choice>(), Ok(Choice::Level(l)));
        }
        assert_eq!("AUTO".parse::<Choice>(), Ok(Choice::Auto));
        assert!("sse9".parse::<Choice>().unwrap_err().contains("sse9"));
    }

    #[test]
    fn every_available_level_dispatches_at_its_width() {
        assert!(Level::available().contains(&Level::Scalar));
        for l in Level::available() {
            assert_eq!(with_level(l, dispatched_lanes), l.lanes(), "{l}");
            assert_eq!(with_level(l, active), l);
        }
    }

    #[test]
    fn a_level_the_cpu_lacks_is_refused_by_name() {
        for l in Level::ALL.into_iter().filter(|l| !l.is_available()) {
            let e = parse_choice(l.name()).unwrap_err();
            assert!(e.contains(l.name()) && e.contains("scalar"), "{e}");
        }
        assert_eq!(parse_choice("scalar"), Ok(Choice::Level(Level::Scalar)));
    }

    #[test]
    fn zen_4_is_told_from_intel_and_zen_5_by_its_cpuid_signature() {
        // EPYC 9004 "Genoa" (family 0x19, model 0x11), a Ryzen 7000 (0x19, 0x61).
        assert!(half_width_avx512(b"AuthenticAMD", 0x00A1_0F11));
        assert!(half_width_avx512(b"AuthenticAMD", 0x00A6_0F12));
        // Zen 5 (family 0x1A) has full-width units on EPYC; Sapphire Rapids (family 6);
        // a Hygon part of AMD's family 0x18.
        assert!(!half_width_avx512(b"AuthenticAMD", 0x00B0_0F21));
        assert!(!half_width_avx512(b"GenuineIntel", 0x0008_06F8));
        assert!(!half_width_avx512(b"HygonGenuine", 0x0090_0F01));
        // An Intel signature with AMD's family bits is still not AMD.
        assert!(!half_width_avx512(b"GenuineIntel", 0x00A1_0F11));
    }

    /// The bug of issue 10: pulp built without `x86-v3` ran one lane on every CPU without
    /// AVX-512. Any CPU that reports AVX2 and FMA must get vectors of 8 lanes or more, under
    /// auto and when AVX2 is forced.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn a_cpu_with_avx2_and_fma_never_runs_scalar() {
        use std::arch::is_x86_feature_detected as has;
        // What pulp's V3 asks of the CPU.
        if has!("avx2") && has!("fma") && has!("bmi1") && has!("bmi2") && has!("lzcnt") {
            assert_ne!(Level::detected(), Level::Scalar);
            assert_ne!(active(), Level::Scalar, "auto chose scalar");
            assert!(Level::Avx2.is_available(), "pulp built without x86-v3");
            assert!(with_level(Level::detected(), dispatched_lanes) >= 8);
            assert_eq!(with_level(Level::Avx2, dispatched_lanes), 8);
        }
        if has!("fma") {
            assert_ne!(Level::of_gemm(), Level::Scalar);
        }
    }
}
