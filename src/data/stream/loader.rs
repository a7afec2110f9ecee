//! The loader of a streamed dataset: a pool of worker threads that decode, in the order they
//! were asked for, the images the step will need next, a bounded number ahead of it.
//!
//! The API is a queue of dataset indices: [`ImageStream::prefetch`] says "these images, in this
//! order, will be needed next" (a training epoch's shuffled order, the validation images, or a
//! data-parallel peer's shard of each batch), and [`ImageStream::take`] hands over the next ones
//! decoded, waiting for them if the workers are behind. Taking images that were not asked for
//! next is not an error: the queue is dropped and those images are decoded at once, so the
//! hint can only make loading faster, never different.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zip::ZipArchive;

use crate::data::archive::ZipBytes;
use crate::data::image::{ResizePolicy, decode_image};
use crate::error::{Error, Result};
use crate::limits::Limits;

use super::{DecodedCache, StreamSettings, StreamedFile};

/// How each image is decoded: the training size and channels, the resize, the caps.
pub(crate) struct Decoding {
    pub side: u32,
    pub channels: usize,
    pub resize: ResizePolicy,
    pub limits: Limits,
}

/// The images of a streamed dataset, decoded on demand by worker threads; cheap to clone (the
/// clones share the workers, which stop when the last clone is dropped).
#[derive(Clone)]
pub struct ImageStream {
    inner: Arc<Inner>,
}

/// What a streamed run measured of its loading.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StreamStats {
    /// Seconds [`ImageStream::take`] waited for the workers.
    pub waited_seconds: f64,
    /// Images handed over.
    pub images: u64,
    /// Images held in the cache.
    pub cached_images: usize,
    /// Bytes the cache holds (pixels and bookkeeping).
    pub cache_bytes: u64,
    /// The cache's budget.
    pub cache_budget: u64,
    /// Images read from the cache instead of decoded.
    pub cache_hits: u64,
}

struct Inner {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

/// What the workers and the taker share.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when there is work or room to work ahead, or on shutdown.
    work: Condvar,
    /// Signalled when an image is decoded.
    ready: Condvar,
    files: Vec<StreamedFile>,
    decoding: Decoding,
    cache: DecodedCache,
}

/// The images asked for, by sequence number: `pending[k]` is the dataset index of the image
/// with number `taken + k`; numbers below `assigned` went to a worker.
#[derive(Default)]
struct Queue {
    pending: VecDeque<usize>,
    taken: u64,
    assigned: u64,
    /// Decoded images not yet taken, by sequence number.
    done: HashMap<u64, Result<Vec<u8>>>,
    /// Bumped when the queue is dropped: a worker's result for an older one is discarded.
    generation: u64,
    ahead: usize,
    shutdown: bool,
    waited: Duration,
    images: u64,
}

impl Queue {
    /// Drops what was asked for and decoded, and asks for `indices` instead.
    fn restart(&mut self, indices: &[usize]) {
        self.generation += 1;
        self.done.clear();
        self.pending = indices.iter().copied().collect();
        self.assigned = self.taken;
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ImageStream {
    /// Starts `settings.workers` threads decoding `files` (one per dataset index) from `zip`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Backend`] when a thread cannot be started.
    pub(crate) fn start(
        zip: ZipArchive<ZipBytes>,
        files: Vec<StreamedFile>,
        decoding: Decoding,
        settings: StreamSettings,
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { ahead: settings.ahead.max(1), ..Queue::default() }),
            work: Condvar::new(),
            ready: Condvar::new(),
            files,
            decoding,
            cache: DecodedCache::new(settings.cache_bytes),
        });
        let mut workers = Vec::with_capacity(settings.workers.max(1));
        for k in 0..settings.workers.max(1) {
            let (shared, zip) = (Arc::clone(&shared), zip.clone());
            let worker = std::thread::Builder::new()
                .name(format!("tagtrain-loader-{k}"))
                .spawn(move || work(&shared, zip))
                .map_err(|e| Error::backend(format!("cannot start a loader thread: {e}")))?;
            workers.push(worker);
        }
        Ok(Self { inner: Arc::new(Inner { shared, workers }) })
    }

    /// Says that the images `indices` will be needed next, in this order, after those asked
    /// for before: the workers decode them ahead of [`ImageStream::take`].
    pub fn prefetch(&self, indices: &[usize]) {
        let shared = &self.inner.shared;
        shared.lock().pending.extend(indices);
        shared.work.notify_all();
    }

    /// The pixels of the images `indices`, in order, waiting for them when the workers are
    /// behind. When they are not the images asked for next, what was asked for is dropped and
    /// these are decoded at once.
    ///
    /// # Errors
    /// The first of them that cannot be read or decoded, naming its zip entry (the queue is
    /// then dropped); an index past the dataset.
    pub fn take(&self, indices: &[usize]) -> Result<Vec<Vec<u8>>> {
        let shared = &self.inner.shared;
        if let Some(&past) = indices.iter().find(|&&i| i >= shared.files.len()) {
            return Err(Error::misuse(format!(
                "image {past} is past the dataset's {} images",
                shared.files.len()
            )));
        }
        let mut queue = shared.lock();
        let asked = queue.pending.len().min(indices.len());
        if !queue.pending.iter().take(asked).eq(&indices[..asked]) {
            queue.restart(indices);
        } else {
            queue.pending.extend(&indices[asked..]);
        }
        shared.work.notify_all();
        let mut images = Vec::with_capacity(indices.len());
        for _ in indices {
            let number = queue.taken;
            let waiting = Instant::now();
            let mut waited = false;
            let result = loop {
                if let Some(result) = queue.done.remove(&number) {
                    break result;
                }
                waited = true;
                queue = shared.ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
            };
            if waited {
                queue.waited += waiting.elapsed();
            }
            queue.taken += 1;
            queue.pending.pop_front();
            shared.work.notify_all();
            match result {
                Ok(pixels) => images.push(pixels),
                Err(error) => {
                    queue.restart(&[]);
                    return Err(error);
                }
            }
        }
        queue.images += indices.len() as u64;
        Ok(images)
    }

    /// What the loading measured so far.
    pub fn stats(&self) -> StreamStats {
        let shared = &self.inner.shared;
        let queue = shared.lock();
        StreamStats {
            waited_seconds: queue.waited.as_secs_f64(),
            images: queue.images,
            cached_images: shared.cache.len(),
            cache_bytes: shared.cache.bytes(),
            cache_budget: shared.cache.budget(),
            cache_hits: shared.cache.hits(),
        }
    }

    /// Each image's CRC-32 and size as the zip's central directory records them, in index
    /// order: what tells the files apart without decoding them.
    pub fn file_checksums(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.inner.shared.files.iter().map(|f| (f.crc32, f.size))
    }

    /// Images started but not taken yet, and of those the decoded ones, once the workers have
    /// had 300 ms to run ahead: what a test of the bounded prefetch looks at.
    #[cfg(test)]
    pub(crate) fn ahead_of_the_taker(&self) -> (u64, usize) {
        std::thread::sleep(Duration::from_millis(300));
        let queue = self.inner.shared.lock();
        (queue.assigned - queue.taken, queue.done.len())
    }

    /// Images decoded ahead of the step at most.
    pub fn ahead(&self) -> usize {
        self.inner.shared.lock().ahead
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
        for worker in self.workers.drain(..) {
            // A worker never panics on user data (decoding is caught); a join error would be
            // a bug in the loop itself, with nothing left to do about it here.
            let _ = worker.join();
        }
    }
}

impl std::fmt::Debug for ImageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = &self.inner.shared;
        f.debug_struct("ImageStream")
            .field("images", &shared.files.len())
            .field("workers", &self.inner.workers.len())
            .field("cache_budget", &shared.cache.budget())
            .finish()
    }
}

/// Two streams are the same when they share their workers (a clone).
impl PartialEq for ImageStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// A worker: takes the next image asked for while fewer than `ahead` wait to be taken, decodes
/// it (or reads it from the cache), hands it over; until shutdown.
fn work(shared: &Shared, mut zip: ZipArchive<ZipBytes>) {
    loop {
        let (number, index, generation) = {
            let mut queue = shared.lock();
            loop {
                if queue.shutdown {
                    return;
                }
                let started = (queue.assigned - queue.taken) as usize;
                if started < queue.pending.len() && started < queue.ahead {
                    break;
                }
                queue = shared.work.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            let number = queue.assigned;
            queue.assigned += 1;
            (number, queue.pending[(number - queue.taken) as usize], queue.generation)
        };
        let result = match shared.cache.get(index) {
            Some(pixels) => Ok(pixels),
            None => {
                let file = &shared.files[index];
                // The decoders are not expected to panic on any bytes, but a panic on a user's
                // file must stop the run with an error naming it, not take the process down.
                let decoded = catch_unwind(AssertUnwindSafe(|| decode(&mut zip, file, shared)))
                    .unwrap_or_else(|_| {
                        Err(Error::zip_entry(&file.path, "the image decoder failed on this file"))
                    });
                if let Ok(pixels) = &decoded {
                    shared.cache.offer(index, pixels);
                }
                decoded
            }
        };
        let mut queue = shared.lock();
        if queue.generation == generation {
            queue.done.insert(number, result);
            shared.ready.notify_all();
        }
    }
}

/// Reads `file`'s entry within the limits (its CRC-32 checked) and decodes it at the training
/// size.
fn decode(zip: &mut ZipArchive<ZipBytes>, file: &StreamedFile, shared: &Shared) -> Result<Vec<u8>> {
    let Decoding { side, channels, resize, limits } = &shared.decoding;
    let path = &file.path;
    let mut entry = zip.by_index(file.entry).map_err(|e| Error::zip_entry(path, e))?;
    let cap = limits.entry_cap(u64::MAX);
    limits.check_entry(path, entry.size(), entry.compressed_size(), cap)?;
    if (entry.crc32(), entry.size()) != (file.crc32, file.size) {
        return Err(Error::zip_entry(path, "the file changed in the zip since it was opened"));
    }
    let mut bytes = Vec::with_capacity(entry.size().min(cap) as usize);
    (&mut entry).take(cap + 1).read_to_end(&mut bytes).map_err(|e| Error::zip_entry(path, e))?;
    limits.check_inflated(path, bytes.len() as u64, cap)?;
    decode_image(path, &bytes, *side, *channels, *resize, limits)
}
