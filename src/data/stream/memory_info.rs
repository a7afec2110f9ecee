//! How much memory the machine has free, for the default cache budget and the choice between
//! streaming and decoding into memory.

/// The most the default cache budget takes, whatever the machine has free: a cache helps from
/// the second epoch on, and a training run at 64 px stays within 1.5 GiB with it (BENCHMARKS.md,
/// "Streaming data").
const DEFAULT_CACHE_CAP: u64 = 512 << 20;

/// Bytes of memory available to a new process (Linux's `MemAvailable` in `/proc/meminfo`);
/// `None` where that is not known.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_available(&text)
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The cache budget when the user sets none: a quarter of the memory available, at most
/// [`DEFAULT_CACHE_CAP`]; 256 MiB where the available memory is not known.
pub fn default_cache_budget(available: Option<u64>) -> u64 {
    available.map_or(256 << 20, |bytes| (bytes / 4).min(DEFAULT_CACHE_CAP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available_and_caps_the_default_budget() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:    2000000 kB\n";
        assert_eq!(mem_available(text), Some(2_048_000_000));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(default_cache_budget(Some(1_024_000_000)), 256_000_000);
        assert_eq!(default_cache_budget(Some(64 << 30)), 512 << 20);
        assert_eq!(default_cache_budget(None), 256 << 20);
    }
}
