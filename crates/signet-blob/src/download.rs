//! Reading a blob: stored bytes → header → authenticated decryption of the chunks, several at
//! once, yielded in order.
//!
//! After the header, the stored bytes are cut into segments (one encrypted chunk and its tag),
//! and runs of [`SEGMENTS_PER_JOB`] consecutive segments are decrypted on the crate's decryption
//! threads (see `pool`), up to [`JOBS_AHEAD`] runs at the same time. Plaintext is yielded
//! strictly in order: chunk `n` is yielded only once its own tag verified and chunks `0..n` were
//! yielded. The first chunk that fails ends the stream with an error, and nothing after it is
//! yielded (a run stops decrypting at its first failure; later runs are dropped unseen), so a
//! reader gets exactly what a one-chunk-at-a-time reader would: the chunks before the first bad
//! one, then the error. `get` itself waits for the first chunk (and its run) to open, so that a
//! blob damaged at its start fails before anything is returned. A segment counts as the last one (opened with the STREAM last-chunk
//! flag) only once the stored object is known to end right after it, so a truncated, extended or
//! reordered object fails as it always did.
//!
//! # Memory
//!
//! Bounded by constants, whatever the size of the blob. Between the stored bytes and the
//! consumer there are at most `(JOBS_AHEAD + 1) * SEGMENTS_PER_JOB` segments in runs (being
//! decrypted, queued, done and waiting for an earlier run, or being yielded) and fewer than
//! `SEGMENTS_PER_JOB` gathered for the next run: 39 segments, 2.5 MiB. Stored bytes not yet cut
//! are less than one segment plus the last piece the backend yielded, since more is read only
//! when less than a segment is left. A local file is read [`FILE_READ_LEN`] bytes (1 MiB) at a
//! time into one buffer that segments are cut from in place, without copying; such a buffer
//! stays allocated until the last chunk cut from it is dropped, so while the consumer holds one
//! chunk at a time the segments alive span at most 57 positions and at most five reads, 5 MiB.
//! Pieces that are shared with something else (the memory backend yields the whole object as one
//! piece; HTTP bodies arrive in the connection's buffers) have each segment copied out into its
//! own buffer, so then the download's own buffers are the 39 segments and one more.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::{GetResultPayload, ObjectStore};
use signet_core::blob::{BlobError, BlobKey, ByteStream};
use signet_core::crypto::MasterKey;

use crate::format::{ChunkOpener, Header, MAX_HEADER_LEN, SEGMENT_LEN};
use crate::{object_path, pool, unexpected};

/// Segments one job on a decryption thread opens in a row, 512 KiB of plaintext. Every job is two
/// hand-offs between threads; measured over HTTP on 2 cores, one segment per job cost a fifth
/// more CPU than reading without threads at all, eight cost about the same.
const SEGMENTS_PER_JOB: usize = 8;
/// Jobs in flight per download: with two decryption threads, one more job is queued while both
/// run (two left a thread waiting, four were no faster).
const JOBS_AHEAD: usize = 3;
/// Whole segments per read from a local file (each read is a hand-off to a blocking thread).
const SEGMENTS_PER_READ: usize = 16;
/// Bytes read from a local file per blocking task (1 MiB and a little).
const FILE_READ_LEN: usize = SEGMENTS_PER_READ * SEGMENT_LEN;

pub(crate) async fn get(
    store: &dyn ObjectStore,
    master: &MasterKey,
    key: &BlobKey,
) -> Result<ByteStream, BlobError> {
    let path = object_path(key)?;
    let stored = store.get(&path).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => unexpected(other, "reading a blob"),
    })?;
    let mut stored = Stored::new(match stored.payload {
        // object_store reads local files 8 KiB per blocking task; whole segments at a time cost
        // a fraction of that.
        GetResultPayload::File(file, _) => read_file(file),
        GetResultPayload::Stream(stream) => stream.map_err(io::Error::other).boxed(),
    });
    // The header is read before returning, so that a blob that cannot be opened at all (wrong
    // master key, foreign or damaged header) fails here rather than after a response has started.
    let header = loop {
        if let Some((header, len)) = Header::parse(&stored.peek(MAX_HEADER_LEN), master)? {
            stored.advance(len);
            break header;
        }
        match stored.read_more().await {
            Ok(true) => {}
            Ok(false) => return Err(BlobError::Corrupt),
            Err(e) => return Err(anyhow::Error::new(e).context("reading a blob").into()),
        }
    };
    let opener = Arc::new(ChunkOpener::new(&header, key)?);
    let chunks = futures::stream::unfold(stored, |mut stored| async move {
        let segment = stored.next_segment().await?;
        Some((segment, stored))
    })
    .chunks(SEGMENTS_PER_JOB)
    .map(move |segments| {
        let opener = opener.clone();
        pool::run(move || open_in_order(&opener, segments))
    })
    .buffered(JOBS_AHEAD)
    .flat_map(|opened| futures::stream::iter(opened.unwrap_or_else(|failed| vec![Err(failed)])))
    .boxed();
    // Fused: an empty blob's stream has ended already when it is handed out.
    let mut chunks = Box::pin(until_first_error(chunks).fuse());
    // The first chunk is opened before returning too, so that a blob damaged at its start fails
    // here, while the caller can still answer with an error status instead of a truncated body.
    let first = match chunks.next().await {
        None => None,
        Some(Ok(first)) => Some(Ok(first)),
        Some(Err(error)) => return Err(blob_error(error)),
    };
    Ok(Box::pin(futures::stream::iter(first).chain(chunks)))
}

/// The [`BlobError`] behind an error of the plaintext stream: [`BlobError::Corrupt`] for stored
/// bytes that failed authentication, [`BlobError::Unexpected`] for a failure to read them.
pub(crate) fn blob_error(error: io::Error) -> BlobError {
    let corrupt = error.kind() == io::ErrorKind::InvalidData
        && matches!(
            error.get_ref().and_then(|e| e.downcast_ref::<BlobError>()),
            Some(BlobError::Corrupt)
        );
    if corrupt {
        BlobError::Corrupt
    } else {
        anyhow::Error::new(error).context("reading a blob").into()
    }
}

/// Opens consecutive segments, stopping at the first that fails (or the read error in their
/// place): nothing after it is ever yielded, so it is not worth decrypting.
fn open_in_order(
    opener: &ChunkOpener,
    segments: Vec<io::Result<Segment>>,
) -> Vec<io::Result<Bytes>> {
    let mut opened = Vec::with_capacity(segments.len());
    for segment in segments {
        let chunk = segment.and_then(|segment| {
            opener
                .open(segment.position, segment.last, segment.bytes)
                .map_err(|_| corrupt())
        });
        let failed = chunk.is_err();
        opened.push(chunk);
        if failed {
            break;
        }
    }
    opened
}

/// Yields `chunks` up to and including the first error, leaving out the empty plaintext of an
/// empty last chunk; once an error is yielded, whatever `chunks` still has in flight is dropped.
fn until_first_error(
    chunks: BoxStream<'static, io::Result<Bytes>>,
) -> impl futures::Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures::stream::unfold(Some(chunks), |chunks| async move {
        let mut chunks = chunks?;
        loop {
            match chunks.next().await? {
                Ok(chunk) if chunk.is_empty() => {}
                Ok(chunk) => return Some((Ok(chunk), Some(chunks))),
                Err(error) => return Some((Err(error), None)),
            }
        }
    })
}

/// The error a reader yields for stored bytes that fail authentication: kind `InvalidData`,
/// wrapping [`BlobError::Corrupt`] so that callers can tell it apart from an I/O failure.
fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, BlobError::Corrupt)
}

/// One stored segment and where it stands in the blob.
struct Segment {
    position: u64,
    /// The stored object ends right after this segment.
    last: bool,
    bytes: BytesMut,
}

/// A piece of the stored object as the backend yielded it.
enum Piece {
    /// Nothing else holds these bytes: segments are cut from them in place.
    Owned(BytesMut),
    /// Shared with something else (the memory backend's object, an HTTP buffer): segments are
    /// copied out.
    Shared(Bytes),
}

impl Piece {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Owned(bytes) => bytes,
            Self::Shared(bytes) => bytes,
        }
    }

    fn advance(&mut self, n: usize) {
        match self {
            Self::Owned(bytes) => bytes.advance(n),
            Self::Shared(bytes) => bytes.advance(n),
        }
    }
}

/// The stored object's bytes read but not yet cut into segments, and the rest of the object.
struct Stored {
    inner: BoxStream<'static, io::Result<Bytes>>,
    pieces: VecDeque<Piece>,
    /// Bytes in `pieces`.
    len: usize,
    /// The stored object has been read to its end.
    eof: bool,
    /// Position of the next segment.
    position: u64,
    /// The last segment, or an error, was handed out: nothing more follows.
    done: bool,
}

impl Stored {
    fn new(inner: BoxStream<'static, io::Result<Bytes>>) -> Self {
        Self {
            inner,
            pieces: VecDeque::new(),
            len: 0,
            eof: false,
            position: 0,
            done: false,
        }
    }

    /// Reads the next piece of the object; `false` at its end.
    async fn read_more(&mut self) -> io::Result<bool> {
        match self.inner.next().await {
            Some(Ok(bytes)) => {
                if !bytes.is_empty() {
                    self.len += bytes.len();
                    self.pieces.push_back(match bytes.try_into_mut() {
                        Ok(owned) => Piece::Owned(owned),
                        Err(shared) => Piece::Shared(shared),
                    });
                }
                Ok(true)
            }
            Some(Err(error)) => Err(error),
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    /// A copy of the first `max` bytes read (fewer if fewer were read).
    fn peek(&self, max: usize) -> BytesMut {
        let mut out = BytesMut::with_capacity(max.min(self.len));
        for piece in &self.pieces {
            let wanted = max - out.len();
            let bytes = piece.as_slice();
            out.extend_from_slice(&bytes[..wanted.min(bytes.len())]);
            if out.len() == max {
                break;
            }
        }
        out
    }

    /// Drops the first `n` bytes read (`n` at most what was read).
    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let Some(front) = self.pieces.front_mut() else {
                return;
            };
            let step = n.min(front.as_slice().len());
            front.advance(step);
            n -= step;
            if front.as_slice().is_empty() {
                self.pieces.pop_front();
            }
        }
    }

    /// Takes the first `n` bytes read (`n` at most what was read): in place when they lie in one
    /// owned piece, copied otherwise.
    fn take(&mut self, n: usize) -> BytesMut {
        let bytes = match self.pieces.front_mut() {
            Some(Piece::Owned(front)) if front.len() >= n => {
                self.len -= n;
                let bytes = front.split_to(n);
                if front.is_empty() {
                    self.pieces.pop_front();
                }
                return bytes;
            }
            _ => self.peek(n),
        };
        self.advance(n);
        bytes
    }

    /// The next segment to decrypt, read as far as needed to know whether it is the last one;
    /// `None` after the last one or an error.
    async fn next_segment(&mut self) -> Option<io::Result<Segment>> {
        if self.done {
            return None;
        }
        // A segment followed by at least one more stored byte is known not to be the last.
        while self.len <= SEGMENT_LEN && !self.eof {
            if let Err(error) = self.read_more().await {
                self.done = true;
                return Some(Err(error));
            }
        }
        let last = self.len <= SEGMENT_LEN;
        self.done = last;
        // The last segment may be empty (an object that ends right after its header), which
        // fails to open.
        let bytes = self.take(self.len.min(SEGMENT_LEN));
        let position = self.position;
        self.position += 1;
        Some(Ok(Segment {
            position,
            last,
            bytes,
        }))
    }
}

/// Streams a local file in blocks of [`FILE_READ_LEN`] bytes, each read on a blocking thread.
fn read_file(file: std::fs::File) -> BoxStream<'static, io::Result<Bytes>> {
    futures::stream::try_unfold(file, |mut file| async move {
        let (file, block) = tokio::task::spawn_blocking(move || {
            let mut block = vec![0u8; FILE_READ_LEN];
            let mut filled = 0;
            while filled < block.len() {
                match io::Read::read(&mut file, &mut block[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            block.truncate(filled);
            Ok((file, block))
        })
        .await
        .map_err(io::Error::other)??;
        Ok((!block.is_empty()).then(|| (Bytes::from(block), file)))
    })
    .boxed()
}
