//! The forward's matrix product of [`super::kernels`] in wasm's SIMD128, for the browser's CPU
//! page.
//!
//! Why: the `gemm` crate's wasm kernel is 12 rows × 4 columns, which wants 16 vector registers
//! (12 sums, 3 of the left operand, 1 broadcast) where V8 has 15 on x86-64; and it packs the
//! column matrix into its own layout first, though our columns are already rows in memory
//! order. Here a tile is 4 output channels × 8 pixels (8 sums, 2 loads, 1 broadcast), read
//! straight from the columns' rows. The forward and the input gradient (the same product) take
//! it; the weight gradient keeps gemm's (a dot-product tile of our own, 4 × 2 sums along the
//! pixels, made the step slower). Native builds keep `gemm` (its AVX-512 kernels).

use core::arch::wasm32::{f32x4, f32x4_add, f32x4_mul, f32x4_splat, v128, v128_store};

/// Output channels × pixels of a tile.
const ROWS: usize = 4;
const PIXELS: usize = 8;

/// `dst[m × n] = lhs[m × k] · rhs[k × n]`, every operand row-major and contiguous.
pub(super) fn product(m: usize, n: usize, k: usize, dst: &mut [f32], lhs: &[f32], rhs: &[f32]) {
    let (dst, lhs, rhs) = (&mut dst[..m * n], &lhs[..m * k], &rhs[..k * n]);
    let whole = n / PIXELS * PIXELS;
    for j in (0..whole).step_by(PIXELS) {
        let mut i = 0;
        while i + ROWS <= m {
            let rows: [&[f32]; ROWS] = core::array::from_fn(|r| &lhs[(i + r) * k..][..k]);
            let mut sums = [[f32x4_splat(0.0); 2]; ROWS];
            for (p, row) in rhs.chunks_exact(n).enumerate() {
                let pixels = &row[j..j + PIXELS];
                let low = f32x4(pixels[0], pixels[1], pixels[2], pixels[3]);
                let high = f32x4(pixels[4], pixels[5], pixels[6], pixels[7]);
                for (sum, lhs_row) in sums.iter_mut().zip(rows) {
                    let a = f32x4_splat(lhs_row[p]);
                    sum[0] = f32x4_add(sum[0], f32x4_mul(a, low));
                    sum[1] = f32x4_add(sum[1], f32x4_mul(a, high));
                }
            }
            for (r, sum) in sums.iter().enumerate() {
                store(&mut dst[(i + r) * n + j..][..PIXELS], *sum);
            }
            i += ROWS;
        }
        for row in i..m {
            for q in j..j + PIXELS {
                dst[row * n + q] = dot(&lhs[row * k..][..k], rhs, n, q);
            }
        }
    }
    for row in 0..m {
        for q in whole..n {
            dst[row * n + q] = dot(&lhs[row * k..][..k], rhs, n, q);
        }
    }
}

/// `Σ_p lhs_row[p] · rhs[p][q]`, one output value (the tiles' remainders).
fn dot(lhs_row: &[f32], rhs: &[f32], n: usize, q: usize) -> f32 {
    lhs_row.iter().zip(rhs.chunks_exact(n)).map(|(a, row)| a * row[q]).sum()
}

/// Stores two vectors into `out` (8 values).
fn store(out: &mut [f32], [low, high]: [v128; 2]) {
    assert!(out.len() >= 8);
    // SAFETY: `out` holds 8 values (checked above); v128 stores need no alignment in wasm.
    unsafe {
        v128_store(out.as_mut_ptr().cast::<v128>(), low);
        v128_store(out.as_mut_ptr().add(4).cast::<v128>(), high);
    }
}
