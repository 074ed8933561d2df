//! The writing end of one download attempt. Bytes are written to the `.part` file and fed to
//! the md5 on a blocking thread of their own, so neither the disk nor the hashing holds up the
//! threads that read from the network (with the md5 checked inline, a 1 GiB run took about
//! 3.75 s instead of 3.1 s on two cores; docs/downloads.md).

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes gathered before they go to the writer, each batch one write to the disk: the network
/// hands over a few KB at a time, and waking the writer for each costs more than the copy.
const WRITE_BUFFER: usize = 256 * 1024;
/// Batches that may wait for the writer, so memory stays flat when the disk is slow.
const QUEUE: usize = 4;

pub(super) struct PartSink {
    batch: BytesMut,
    /// `None` once closed: the writer then ends after writing what is queued.
    queue: Option<mpsc::Sender<Bytes>>,
    writer: Option<JoinHandle<io::Result<Option<Md5>>>>,
}

impl PartSink {
    /// Appends to `file` and, when given a hasher, hashes what is appended.
    pub(super) fn start(file: File, mut hasher: Option<Md5>) -> Self {
        let (queue, mut chunks) = mpsc::channel::<Bytes>(QUEUE);
        let writer = tokio::task::spawn_blocking(move || {
            let mut out = file;
            while let Some(batch) = chunks.blocking_recv() {
                out.write_all(&batch)?;
                if let Some(hasher) = hasher.as_mut() {
                    hasher.update(&batch);
                }
            }
            Ok(hasher)
        });
        PartSink {
            batch: BytesMut::with_capacity(WRITE_BUFFER),
            queue: Some(queue),
            writer: Some(writer),
        }
    }

    /// Adds `chunk` to the batch, and hands a full batch to the writer; the error the writer
    /// stopped on, if it has.
    pub(super) async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.batch.extend_from_slice(chunk);
        if self.batch.len() < WRITE_BUFFER {
            return Ok(());
        }
        self.send_batch().await
    }

    /// Writes out everything given; the hasher, having seen every byte.
    pub(super) async fn finish(mut self) -> io::Result<Option<Md5>> {
        if !self.batch.is_empty() {
            self.send_batch().await?;
        }
        self.stop().await
    }

    async fn send_batch(&mut self) -> io::Result<()> {
        let batch = std::mem::replace(&mut self.batch, BytesMut::with_capacity(WRITE_BUFFER));
        if let Some(queue) = &self.queue {
            if queue.send(batch.freeze()).await.is_ok() {
                return Ok(());
            }
        }
        match self.stop().await {
            Err(error) => Err(error),
            Ok(_) => Err(io::Error::other("the file writer stopped")),
        }
    }

    async fn stop(&mut self) -> io::Result<Option<Md5>> {
        self.queue = None;
        match self.writer.take() {
            Some(writer) => writer.await.map_err(io::Error::other)?,
            None => Err(io::Error::other("the file writer stopped")),
        }
    }
}

/// Feeds the whole file at `path` to `hasher`, off the network threads.
pub(super) async fn hash_file(path: &Path, mut hasher: Md5) -> io::Result<Md5> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut input = File::open(path)?;
        let mut buf = vec![0u8; WRITE_BUFFER];
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                return Ok(hasher);
            }
            hasher.update(&buf[..n]);
        }
    })
    .await
    .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_byte_is_written_and_hashed_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let bytes: Vec<u8> = (0..WRITE_BUFFER * 3 + 17).map(|i| i as u8).collect();
        let mut sink = PartSink::start(File::create(&path).unwrap(), Some(Md5::new()));
        for chunk in bytes.chunks(10_000) {
            sink.write(chunk).await.unwrap();
        }
        let hasher = sink.finish().await.unwrap().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(hasher.finalize(), Md5::digest(&bytes));
    }

    #[tokio::test]
    async fn a_write_the_disk_refuses_comes_back_as_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        std::fs::write(&path, b"").unwrap();
        // Opened for reading only: every write fails, as on a full or broken disk.
        let mut sink = PartSink::start(File::open(&path).unwrap(), None);
        let chunk = vec![0u8; WRITE_BUFFER];
        let mut failed = None;
        for _ in 0..QUEUE + 2 {
            if let Err(error) = sink.write(&chunk).await {
                failed = Some(error);
                break;
            }
        }
        let error = match failed {
            Some(error) => error,
            None => sink.finish().await.unwrap_err(),
        };
        assert_ne!(error.to_string(), "the file writer stopped", "{error}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
