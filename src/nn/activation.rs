//! Hidden-layer activation functions and their derivatives.

use std::fmt;
use std::str::FromStr;

/// A hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `max(0, x)`: exact zeros, the subject of the paper.
    Rectifier,
    Tanh,
    /// `ln(1 + e^x)`: the smooth version of the rectifier, never exactly 0.
    Softplus,
    Sigmoid,
}

impl Activation {
    pub const ALL: [Activation; 4] = [
        Activation::Rectifier,
        Activation::Tanh,
        Activation::Softplus,
        Activation::Sigmoid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Rectifier => "rectifier",
            Activation::Tanh => "tanh",
            Activation::Softplus => "softplus",
            Activation::Sigmoid => "sigmoid",
        }
    }

    /// The activation's range, where it is bounded on both sides.
    pub fn bounds(self) -> Option<(f32, f32)> {
        match self {
            Activation::Tanh => Some((-1.0, 1.0)),
            Activation::Sigmoid => Some((0.0, 1.0)),
            Activation::Rectifier | Activation::Softplus => None,
        }
    }

    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Rectifier => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Softplus => {
                // Stable for large |x|: ln(1+e^x) = x + ln(1+e^-x).
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            }
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        }
    }

    /// The derivative f'(x), written in terms of the output `h = f(x)` so that the
    /// pre-activations need not be kept.
    #[inline]
    pub fn derivative_from_output(self, h: f32) -> f32 {
        match self {
            Activation::Rectifier => {
                if h > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - h * h,
            // softplus'(x) = sigmoid(x) = 1 - e^{-h}
            Activation::Softplus => -(-h).exp_m1(),
            Activation::Sigmoid => h * (1.0 - h),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rectifier" | "relu" => Ok(Activation::Rectifier),
            "tanh" => Ok(Activation::Tanh),
            "softplus" => Ok(Activation::Softplus),
            "sigmoid" => Ok(Activation::Sigmoid),
            other => Err(format!(
                "unknown activation '{other}' (expected rectifier, relu, tanh, softplus or sigmoid)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivative_from_output_matches_finite_differences() {
        for act in Activation::ALL {
            for &x in &[-3.0f32, -0.7, -0.1, 0.2, 0.9, 2.5] {
                let eps = 1e-3;
                let numeric = (act.apply(x + eps) - act.apply(x - eps)) / (2.0 * eps);
                let analytic = act.derivative_from_output(act.apply(x));
                assert!(
                    (numeric - analytic).abs() < 2e-3,
                    "{act} at {x}: numeric {numeric} analytic {analytic}"
                );
            }
        }
    }

    #[test]
    fn softplus_is_stable_for_large_inputs() {
        assert!((Activation::Softplus.apply(100.0) - 100.0).abs() < 1e-4);
        assert!(Activation::Softplus.apply(-100.0) >= 0.0);
        assert!(Activation::Softplus.apply(-100.0) < 1e-30);
    }

    #[test]
    fn names_and_aliases_parse() {
        assert_eq!("relu".parse::<Activation>(), Ok(Activation::Rectifier));
        assert_eq!("Rectifier".parse::<Activation>(), Ok(Activation::Rectifier));
        assert_eq!("tanh".parse::<Activation>(), Ok(Activation::Tanh));
        assert!("gelu".parse::<Activation>().unwrap_err().contains("gelu"));
    }

    #[test]
    fn only_the_rectifier_is_exactly_zero() {
        assert_eq!(Activation::Rectifier.apply(-0.5), 0.0);
        assert!(Activation::Tanh.apply(-0.5) != 0.0);
        assert!(Activation::Softplus.apply(-0.5) > 0.0);
        assert!((Activation::Sigmoid.apply(0.0) - 0.5).abs() < 1e-7);
    }
}
