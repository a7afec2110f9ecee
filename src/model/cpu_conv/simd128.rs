//! The matrix products of [`super::kernels`] in wasm's SIMD128, for the browser's CPU page.
//!
//! Why: the `gemm` crate's wasm kernel is 12 rows × 4 columns, which wants 16 vector registers
//! (12 sums, 3 of the left operand, 1 broadcast) where V8 has 15 on x86-64; and it packs the
//! column matrix into its own layout first, though our columns are already rows in memory
//! order. Here:
//! - the forward and the input gradient (the same product, [`product`]): tiles of 4 output
//!   channels × 8 pixels (8 sums, 2 loads, 1 broadcast), read straight from the columns' rows;
//! - the weight gradient ([`product_transposed`], `dY · columnsᵀ`): tiles of 4 output channels ×
//!   2 column rows, each a dot product along the pixels, 4 at a time (8 sums, 6 loads). Written
//!   with bounds-checked indexing it was slower than gemm's; with unchecked loads, faster.
//!
//! CPU page, A2 at 32 px, batch 64: 175 images/s with gemm's, ~196 with the forward's, ~216 with
//! both (BENCHMARKS.md). Native builds keep `gemm` (its AVX-512 kernels).

use core::arch::wasm32::{f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat};
use core::arch::wasm32::{v128, v128_load, v128_store};

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
            let column = rhs[j..].as_ptr();
            for p in 0..k {
                // SAFETY: `rhs` holds `k` rows of `n ≥ j + 8` values (sliced above); wasm loads
                // need no alignment.
                let (low, high) = unsafe {
                    let pixels = column.add(p * n);
                    (v128_load(pixels.cast()), v128_load(pixels.add(4).cast()))
                };
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

/// `dst[m × n] (+)= lhs[m × k] · rhs[n × k]ᵀ` (`+=` when `accumulate`), every operand row-major
/// and contiguous: each value the dot product of a row of `lhs` and a row of `rhs` (the weight
/// gradient: `dY · columnsᵀ`, summed along the pixels). Tiles of 4 × 2 values, 4 pixels a step.
pub(super) fn product_transposed(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    lhs: &[f32],
    rhs: &[f32],
    accumulate: bool,
) {
    let (dst, lhs, rhs) = (&mut dst[..m * n], &lhs[..m * k], &rhs[..n * k]);
    let whole = k / 4 * 4;
    let (m_tiles, n_tiles) = (m / 4 * 4, n / 2 * 2);
    let put = |out: &mut f32, value: f32| *out = if accumulate { *out + value } else { value };
    // Values outside the tiles (rows past the last whole tile of 4, columns past the last of
    // 2), one dot product each.
    let rest = (m_tiles..m).flat_map(|i| (0..n).map(move |j| (i, j)));
    let rest = rest.chain((0..m_tiles).flat_map(|i| (n_tiles..n).map(move |j| (i, j))));
    for (i, j) in rest {
        put(&mut dst[i * n + j], dot_rows(&lhs[i * k..][..k], &rhs[j * k..][..k]));
    }
    for i in (0..m_tiles).step_by(4) {
        let a: [*const f32; 4] = core::array::from_fn(|r| lhs[(i + r) * k..].as_ptr());
        for j in (0..n_tiles).step_by(2) {
            let b: [*const f32; 2] = core::array::from_fn(|c| rhs[(j + c) * k..].as_ptr());
            let mut sums = [[f32x4_splat(0.0); 2]; 4];
            let mut p = 0;
            while p < whole {
                // SAFETY: rows `i..i + 4` of `lhs` and `j..j + 2` of `rhs` hold `k` values
                // each (the slices above), and `p + 4 ≤ whole ≤ k`; wasm loads need no
                // alignment.
                let (b0, b1) =
                    unsafe { (v128_load(b[0].add(p).cast()), v128_load(b[1].add(p).cast())) };
                for (sum, row) in sums.iter_mut().zip(a) {
                    // SAFETY: as above.
                    let x = unsafe { v128_load(row.add(p).cast()) };
                    sum[0] = f32x4_add(sum[0], f32x4_mul(x, b0));
                    sum[1] = f32x4_add(sum[1], f32x4_mul(x, b1));
                }
                p += 4;
            }
            for (r, sum) in sums.iter().enumerate() {
                for (c, lanes) in sum.iter().enumerate() {
                    let (a_row, b_row) = (&lhs[(i + r) * k..][..k], &rhs[(j + c) * k..][..k]);
                    let value = lane_sum(*lanes) + dot_rows(&a_row[whole..], &b_row[whole..]);
                    put(&mut dst[(i + r) * n + j + c], value);
                }
            }
        }
    }
}

/// `Σ a[p] · b[p]`.
fn dot_rows(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The sum of a vector's four lanes.
fn lane_sum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}
