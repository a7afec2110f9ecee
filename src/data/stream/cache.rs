//! Decoded images kept between epochs within a memory budget.
//!
//! Fill until full, never evict: training visits the images in a uniformly shuffled order each
//! epoch, so any set of cached images saves as many decodings as any other of the same size,
//! and evicting one to cache another would only spend work. (A least-recently-used cache would
//! do worse: with a shuffled order, the image used longest ago is as likely as any to come next.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What an entry costs besides its pixels: the map's slot and the shared buffer's counts.
const ENTRY_OVERHEAD: u64 = 64;

/// Decoded images by dataset index, never more than `budget` bytes (pixels and bookkeeping).
#[derive(Debug)]
pub struct DecodedCache {
    budget: u64,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    images: HashMap<usize, Arc<[u8]>>,
    bytes: u64,
    hits: u64,
}

impl DecodedCache {
    /// An empty cache of at most `budget` bytes (0: it keeps nothing).
    pub fn new(budget: u64) -> Self {
        Self { budget, held: Mutex::default() }
    }

    /// The pixels of image `index`, when cached.
    pub fn get(&self, index: usize) -> Option<Vec<u8>> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let pixels = held.images.get(&index)?.to_vec();
        held.hits += 1;
        Some(pixels)
    }

    /// Keeps image `index`'s pixels if they fit in what is left of the budget; true if kept
    /// (or already held).
    pub fn offer(&self, index: usize, pixels: &[u8]) -> bool {
        let cost = pixels.len() as u64 + ENTRY_OVERHEAD;
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.images.contains_key(&index) {
            return true;
        }
        if held.bytes + cost > self.budget {
            return false;
        }
        held.images.insert(index, pixels.into());
        held.bytes += cost;
        true
    }

    /// Bytes held (pixels and bookkeeping), never more than the budget.
    pub fn bytes(&self) -> u64 {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).bytes
    }

    /// Images held.
    pub fn len(&self) -> usize {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).images.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Images read from the cache instead of decoded.
    pub fn hits(&self) -> u64 {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).hits
    }

    /// The budget, in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_its_budget() {
        let image = vec![7u8; 1000];
        let cache = DecodedCache::new(3 * (1000 + ENTRY_OVERHEAD) + 10);
        let kept: Vec<bool> = (0..10).map(|i| cache.offer(i, &image)).collect();
        assert_eq!(kept.iter().filter(|k| **k).count(), 3, "three fit, the rest do not");
        assert!(cache.bytes() <= cache.budget());
        assert_eq!(cache.get(0), Some(image.clone()));
        assert_eq!(cache.get(5), None, "not kept once full");
        assert_eq!(cache.hits(), 1);
        assert!(cache.offer(1, &image), "already held");
        assert_eq!(cache.len(), 3);
        let none = DecodedCache::new(0);
        assert!(!none.offer(0, &[1]));
        assert!(none.is_empty());
    }
}
