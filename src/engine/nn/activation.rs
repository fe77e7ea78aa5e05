//! Hidden-layer activation functions and their derivatives.

#![allow(
    clippy::inline_always,
    reason = "pulp compiles a kernel for the CPU's vector features only where it is inlined into its dispatch"
)]

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

    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Rectifier => x.max(0.0),
            Activation::Tanh => tanh(x),
            Activation::Softplus => {
                // Stable for large |x|: ln(1+e^x) = x + ln(1+e^-x).
                if x > 0.0 {
                    x + (-x).exp().ln_1p()
                } else {
                    x.exp().ln_1p()
                }
            }
            // σ(x) = (1 + tanh(x/2)) / 2, which shares the fast tanh.
            Activation::Sigmoid => 0.5f32.mul_add(tanh(0.5 * x), 0.5),
        }
    }

    /// Applies the activation to every element, with the choice of function made once (so
    /// that the loop vectorises).
    pub fn apply_in_place(self, mut xs: ndarray::ArrayViewMut2<'_, f32>) {
        // Compiled for the SIMD level in force (see `super::simd`).
        // The loops are plain loops over a slice, and every closure is inlined: ndarray's own
        // generic loops and a closure left out of line would be compiled without the level's
        // features (see `super::simd::vectorize`).
        let Some(xs) = xs.as_slice_mut() else {
            xs.mapv_inplace(|v| self.apply(v));
            return;
        };
        // One loop per activation, the choice made outside it; `apply` with a constant
        // activation is the bare function.
        macro_rules! each {
            ($act:expr) => {
                for v in xs.iter_mut() {
                    *v = $act.apply(*v);
                }
            };
        }
        super::simd::vectorize(
            #[inline(always)]
            || match self {
                Activation::Rectifier => each!(Activation::Rectifier),
                Activation::Tanh => each!(Activation::Tanh),
                Activation::Softplus => each!(Activation::Softplus),
                Activation::Sigmoid => each!(Activation::Sigmoid),
            },
        );
    }

    /// The derivative f'(x), written in terms of the output `h = f(x)` so that the
    /// pre-activations need not be kept.
    #[inline(always)]
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

/// tanh as a branch-free rational approximation (the one Eigen uses for `float`), accurate to
/// a few ULP and about 10× faster than `f32::tanh` because it vectorises. Beyond ±7.9 the
/// result is ±1 within f32 rounding; tanh(0) is exactly 0.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_7e-3;
    const B4: f32 = 1.185_347e-4;
    const B6: f32 = 1.198_258_4e-6;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = x2 * A13 + A11;
    p = x2 * p + A9;
    p = x2 * p + A7;
    p = x2 * p + A5;
    p = x2 * p + A3;
    p = x2 * p + A1;
    p *= x;
    let mut q = x2 * B6 + B4;
    q = x2 * q + B2;
    q = x2 * q + B0;
    p / q
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
    #[expect(clippy::float_cmp, reason = "tanh(0) must be exactly 0")]
    fn fast_tanh_is_accurate_and_exact_where_it_matters() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 5e-7, "max error {worst}");
        assert_eq!(tanh(0.0), 0.0);
        assert!((tanh(50.0) - 1.0).abs() < 1e-7);
        assert!((tanh(-50.0) + 1.0).abs() < 1e-7);
        assert!(tanh(f32::NAN).is_nan());
        let s = Activation::Sigmoid;
        assert!((s.apply(3.0) - 1.0 / (1.0 + (-3.0f32).exp())).abs() < 1e-7);
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
    #[expect(clippy::float_cmp, reason = "exact zeros are the point")]
    fn only_the_rectifier_is_exactly_zero() {
        assert_eq!(Activation::Rectifier.apply(-0.5), 0.0);
        assert!(Activation::Tanh.apply(-0.5) != 0.0);
        assert!(Activation::Softplus.apply(-0.5) > 0.0);
        assert!((Activation::Sigmoid.apply(0.0) - 0.5).abs() < 1e-7);
    }
}
