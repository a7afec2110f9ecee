//! A file read at positions of its own: several readers (the streaming workers, each with its
//! copy of the zip's parsed central directory) share one open file without sharing a cursor.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

/// One open file, read with positioned reads (`pread`): each copy keeps its own position, so
/// copies read in parallel from separate threads.
#[derive(Debug, Clone)]
pub struct SharedFile {
    file: Arc<File>,
    position: u64,
    len: u64,
}

impl SharedFile {
    /// Opens `path` for reading.
    ///
    /// # Errors
    /// The file cannot be opened or its size read.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self { file: Arc::new(file), position: 0, len })
    }

    /// Up to `count` bytes from the start (fewer when the file is shorter or cannot be read):
    /// enough to say what a file that is not a zip is.
    pub fn first_bytes(&self, count: usize) -> Vec<u8> {
        let mut bytes = vec![0; count.min(self.len as usize)];
        let read = read_at(&self.file, &mut bytes, 0).unwrap_or(0);
        bytes.truncate(read);
        bytes
    }
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = read_at(&self.file, buf, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(by) => self.len.checked_add_signed(by),
            SeekFrom::Current(by) => self.position.checked_add_signed(by),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the file's start")
        })?;
        self.position = target;
        Ok(target)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, at)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_read_at_their_own_positions() {
        let path = std::env::temp_dir().join(format!("shared-file-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let mut a = SharedFile::open(&path).unwrap();
        let mut b = a.clone();
        a.seek(SeekFrom::Start(6)).unwrap();
        let (mut x, mut y) = ([0; 3], [0; 2]);
        a.read_exact(&mut x).unwrap();
        b.read_exact(&mut y).unwrap();
        assert_eq!((&x, &y), (b"678", b"01"));
        assert_eq!(a.seek(SeekFrom::End(-1)).unwrap(), 9);
        assert_eq!(a.first_bytes(4), b"0123");
        std::fs::remove_file(path).unwrap();
    }
}
