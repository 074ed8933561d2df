//! The bytes behind a stored object: held in memory (uploads, small seeded documents) or generated
//! from a seed block by block as they are sent, so any byte range of a huge file can be served
//! without producing what comes before it.

use std::io;

use axum::body::Bytes;
use futures::stream::{self, Stream, StreamExt};
use md5::{Digest, Md5};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::seed::mix;

/// Generated content is produced in blocks of this size, each from its own seed.
const BLOCK_SIZE: u64 = 64 * 1024;

#[derive(Clone, Debug)]
pub enum Content {
    Stored(Bytes),
    Generated { seed: u64, length: u64 },
}

impl Content {
    pub fn len(&self) -> u64 {
        match self {
            Content::Stored(bytes) => bytes.len() as u64,
            Content::Generated { length, .. } => *length,
        }
    }

    /// Bytes `start..end` (clamped to the content) as a stream of chunks.
    pub fn stream(
        &self,
        start: u64,
        end: u64,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let end = end.min(self.len());
        let start = start.min(end);
        let content = self.clone();
        let first_block = start / BLOCK_SIZE;
        let last_block = end.div_ceil(BLOCK_SIZE);
        stream::iter(first_block..last_block).map(move |index| {
            let block_start = index * BLOCK_SIZE;
            let from = start.max(block_start) - block_start;
            let to = end.min(block_start + BLOCK_SIZE) - block_start;
            let block = content.block(index);
            Ok(block.slice(from as usize..to as usize))
        })
    }

    fn block(&self, index: u64) -> Bytes {
        let block_start = index * BLOCK_SIZE;
        let block_end = (block_start + BLOCK_SIZE).min(self.len());
        match self {
            Content::Stored(bytes) => bytes.slice(block_start as usize..block_end as usize),
            Content::Generated { seed, .. } => {
                let mut block = vec![0; (block_end - block_start) as usize];
                StdRng::seed_from_u64(mix(*seed, index)).fill_bytes(&mut block);
                Bytes::from(block)
            }
        }
    }

    /// Lower-case hex MD5 of the whole content: one pass over it.
    pub fn md5_hex(&self) -> String {
        let mut hasher = Md5::new();
        for index in 0..self.len().div_ceil(BLOCK_SIZE) {
            hasher.update(self.block(index));
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(content: &Content, start: u64, end: u64) -> Vec<u8> {
        let chunks: Vec<io::Result<Bytes>> = content.stream(start, end).collect().await;
        chunks
            .into_iter()
            .flat_map(|chunk| chunk.unwrap())
            .collect()
    }

    #[tokio::test]
    async fn any_range_of_generated_content_matches_the_whole() {
        let content = Content::Generated {
            seed: 9,
            length: 3 * BLOCK_SIZE + 17,
        };
        let whole = collect(&content, 0, content.len()).await;
        assert_eq!(whole.len() as u64, content.len());
        let start = BLOCK_SIZE - 5;
        let end = 2 * BLOCK_SIZE + 3;
        assert_eq!(
            collect(&content, start, end).await,
            whole[start as usize..end as usize]
        );
        assert_eq!(collect(&content, 10, 10).await, Vec::<u8>::new());
        let digest = Md5::digest(&whole);
        let expected: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(content.md5_hex(), expected);
    }

    #[tokio::test]
    async fn stored_content_streams_slices() {
        let content = Content::Stored(Bytes::from_static(b"hello world"));
        assert_eq!(collect(&content, 6, 100).await, b"world");
        assert_eq!(content.md5_hex(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }
}
