//! Learning-rate schedule: linear warm-up, then cosine decay.

/// Learning rate at `step` (0-based) of `total` steps: a linear warm-up over the first
/// `warmup` steps, then a half cosine from `peak` down to `peak × floor`.
pub fn warmup_cosine(step: usize, total: usize, warmup: usize, peak: f64, floor: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let t = ((step - warmup.min(step)) as f64 / span).min(1.0);
    let min = peak * floor;
    min + (peak - min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        assert!((warmup_cosine(0, 100, 10, 1.0, 0.0) - 0.1).abs() < 1e-12);
        assert!((warmup_cosine(9, 100, 10, 1.0, 0.0) - 1.0).abs() < 1e-12);
        assert!((warmup_cosine(10, 100, 10, 1.0, 0.0) - 1.0).abs() < 1e-12);
        assert!(warmup_cosine(55, 100, 10, 1.0, 0.0) < 0.6);
        assert!((warmup_cosine(100, 100, 10, 1.0, 0.01) - 0.01).abs() < 1e-12);
    }
}
