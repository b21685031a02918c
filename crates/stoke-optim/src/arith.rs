//! What an optimizer's update is written over, so that each update exists once.
//!
//! Every optimizer states its equations in one generic function, `update<X: Arith>`. The fused
//! CPU loop (`host.rs`) calls it with `X = f32`, once per coordinate; every other path calls it
//! once with `X = Whole<D>`, a whole tensor. Both run the same `f32` operations in the same order
//! on the same constants, so they give the same bits by construction (`tests/fused.rs` checks).
//!
//! Scalars are `f32`: each step's constants (`η·wd`, `1−β`, bias corrections …) are computed in
//! `f64` once per step and rounded to `f32` once, which is also what Burn does with the `f64`
//! scalar of `mul_scalar` on an `f32` tensor.

use std::ops::{Add, Div, Mul, Sub};

use burn::tensor::Tensor;

/// Numbers an update computes on: one coordinate, or a whole tensor.
pub trait Arith:
    Send
    + Sync
    + 'static
    + Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Add<f32, Output = Self>
    + Mul<f32, Output = Self>
    + Div<f32, Output = Self>
{
    /// `√x`.
    fn sqrt(self) -> Self;
    /// `x²`, as `x·x`.
    fn square(self) -> Self;
    /// `max(x, y)`: `y` where `x < y`, else `x` (so a NaN in `y` is not taken).
    fn max(self, y: Self) -> Self;
    /// The zero of `x`'s shape: the state of a parameter before its first step.
    fn zero_like(&self) -> Self;
}

impl Arith for f32 {
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }

    #[inline(always)]
    fn square(self) -> f32 {
        self * self
    }

    #[inline(always)]
    fn max(self, y: f32) -> f32 {
        if self < y { y } else { self }
    }

    #[inline(always)]
    fn zero_like(&self) -> f32 {
        0.0
    }
}

/// A whole tensor as an [`Arith`] value: each operator is one Burn tensor op.
#[derive(Clone, Debug)]
pub(crate) struct Whole<const D: usize>(pub Tensor<D>);

impl<const D: usize> Arith for Whole<D> {
    fn sqrt(self) -> Self {
        Whole(self.0.sqrt())
    }

    fn square(self) -> Self {
        Whole(self.0.square())
    }

    fn max(self, y: Self) -> Self {
        Whole(self.0.max_pair(y.0))
    }

    fn zero_like(&self) -> Self {
        Whole(self.0.zeros_like())
    }
}

/// `impl Op<Whole> for Whole` and `impl Op<f32> for Whole`, each as the one Burn op.
macro_rules! whole_ops {
    ($($op:ident $method:ident: $tensor:ident, $scalar:ident;)*) => {$(
        impl<const D: usize> $op for Whole<D> {
            type Output = Self;
            fn $method(self, y: Self) -> Self {
                Whole(self.0.$tensor(y.0))
            }
        }

        impl<const D: usize> $op<f32> for Whole<D> {
            type Output = Self;
            fn $method(self, k: f32) -> Self {
                Whole(self.0.$scalar(k))
            }
        }
    )*};
}

whole_ops! {
    Add add: add, add_scalar;
    Sub sub: sub, sub_scalar;
    Mul mul: mul, mul_scalar;
    Div div: div, div_scalar;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_keeps_the_first_unless_it_is_lower() {
        assert_eq!(Arith::max(1.0f32, 2.0), 2.0);
        assert_eq!(Arith::max(2.0f32, 1.0), 2.0);
        // NaN in the second argument is not taken (as Burn's `max_pair`); in the first it stays.
        assert_eq!(Arith::max(1.0f32, f32::NAN), 1.0);
        assert!(Arith::max(f32::NAN, 1.0f32).is_nan());
    }
}
