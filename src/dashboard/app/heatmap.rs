//! The activation heatmap's state: the newest snapshot of the focused layer and its colour
//! scale (drawn by [`crate::dashboard::ui::heatmap`]).

use crate::protocol::ActivationSnapshot;

/// The heatmap's colour scale is this quantile of the snapshot's non-zero |h|.
const HEATMAP_QUANTILE: f64 = 0.98;

/// The latest activation snapshot of the focused layer, with its colour scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub snapshot: ActivationSnapshot,
    /// |h| at or above this is drawn brightest.
    pub scale: f32,
    /// Fraction of the snapshot's values that are exactly 0.
    pub zeros: f64,
}

impl Heatmap {
    pub(super) fn new(snapshot: ActivationSnapshot) -> Self {
        let mut mags: Vec<f32> = snapshot
            .values
            .iter()
            .filter(|v| **v != 0.0 && v.is_finite())
            .map(|v| v.abs())
            .collect();
        let total = snapshot.values.len().max(1);
        let zeros = snapshot.values.iter().filter(|v| **v == 0.0).count() as f64 / total as f64;
        let scale = if mags.is_empty() {
            1.0
        } else {
            let k = ((mags.len() - 1) as f64 * HEATMAP_QUANTILE).round() as usize;
            let (_, q, _) = mags.select_nth_unstable_by(k, f32::total_cmp);
            q.max(f32::MIN_POSITIVE)
        };
        Self {
            snapshot,
            scale,
            zeros,
        }
    }

    /// One example's value of one unit.
    pub fn value(&self, example: usize, unit: usize) -> Option<f32> {
        let s = &self.snapshot;
        (example < s.examples && unit < s.units)
            .then(|| s.values.get(example * s.units + unit).copied())
            .flatten()
    }

    /// 0 for exactly zero, else 1 (small) to [`Heatmap::LEVELS`] (at or above the scale).
    pub fn level(&self, v: f32) -> u8 {
        if v == 0.0 {
            return 0;
        }
        let r = (v.abs() / self.scale).min(1.0);
        ((r * f32::from(Self::LEVELS)).ceil() as u8).clamp(1, Self::LEVELS)
    }

    /// Non-zero levels.
    pub const LEVELS: u8 = 4;
}
