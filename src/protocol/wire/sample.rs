//! [`Sample`] in its wire form, [`WireSample`], and back: the lossy live measurements, with
//! no NaN on the wire and a snapshot checked for size on the way in.

use serde::{Deserialize, Serialize};

use crate::protocol::{ActivationSnapshot, Position, Sample};

/// [`Sample`] on the wire: a network that trained no batch since the last sample has `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSample {
    pub at: Position,
    pub losses: Vec<Option<f32>>,
    pub examples_per_sec: f64,
    pub activations: Option<WireSnapshot>,
    /// Per network, per hidden layer: exact sparsity over the newest training batches.
    #[serde(default)]
    pub live_sparsity: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireSnapshot {
    pub net: usize,
    pub layer: usize,
    pub examples: usize,
    pub units: usize,
    pub values: Vec<f32>,
}

impl From<&Sample> for WireSample {
    fn from(s: &Sample) -> Self {
        Self::for_viewer(s, s.activations.as_ref())
    }
}

impl WireSample {
    /// The sample as one viewer gets it: with `snapshot`, the one of the layer it watches
    /// ([`Sample::snapshot_for`]).
    pub fn for_viewer(s: &Sample, snapshot: Option<&ActivationSnapshot>) -> Self {
        Self {
            at: s.at,
            losses: s
                .losses
                .iter()
                .map(|l| l.is_finite().then_some(*l))
                .collect(),
            examples_per_sec: if s.examples_per_sec.is_finite() {
                s.examples_per_sec
            } else {
                0.0
            },
            live_sparsity: s
                .live_sparsity
                .iter()
                .map(|l| {
                    l.iter()
                        .map(|f| if f.is_finite() { *f } else { 0.0 })
                        .collect()
                })
                .collect(),
            activations: snapshot.map(|a| WireSnapshot {
                net: a.net,
                layer: a.layer,
                examples: a.examples,
                units: a.units,
                // JSON has no NaN; a non-finite activation would not be drawn anyway.
                values: a
                    .values
                    .iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect(),
            }),
        }
    }
}

impl From<WireSample> for Sample {
    fn from(s: WireSample) -> Self {
        Self {
            at: s.at,
            losses: s
                .losses
                .into_iter()
                .map(|l| l.unwrap_or(f32::NAN))
                .collect(),
            examples_per_sec: s.examples_per_sec,
            live_sparsity: s.live_sparsity,
            watched: Vec::new(),
            activations: s.activations.and_then(|a| {
                // A snapshot whose size does not add up is dropped, never drawn out of bounds.
                (a.examples.checked_mul(a.units) == Some(a.values.len())).then_some(
                    ActivationSnapshot {
                        net: a.net,
                        layer: a.layer,
                        examples: a.examples,
                        units: a.units,
                        values: a.values,
                    },
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::ServerMessage;

    #[test]
    fn samples_carry_no_nan() {
        let s = Sample {
            at: Position::default(),
            losses: vec![f32::NAN, 0.5],
            examples_per_sec: 10.0,
            activations: None,
            watched: Vec::new(),
            live_sparsity: vec![vec![0.5, 0.25]],
        };
        let wire = WireSample::from(&s);
        assert_eq!(wire.losses, vec![None, Some(0.5)]);
        let json = serde_json::to_string(&ServerMessage::Sample(wire.clone())).unwrap();
        assert!(json.contains("null"), "{json}");
        let back = Sample::from(wire);
        assert!(back.losses[0].is_nan());
        assert!((back.losses[1] - 0.5).abs() < f32::EPSILON);
        assert_eq!(back.live_sparsity, vec![vec![0.5, 0.25]]);
    }

    #[test]
    fn a_snapshot_whose_size_does_not_add_up_is_dropped() {
        let wire = WireSample {
            at: Position::default(),
            losses: vec![],
            examples_per_sec: 0.0,
            live_sparsity: vec![],
            activations: Some(WireSnapshot {
                net: 0,
                layer: 0,
                examples: 1000,
                units: 1000,
                values: vec![0.0; 3],
            }),
        };
        assert!(Sample::from(wire).activations.is_none());
    }
}
