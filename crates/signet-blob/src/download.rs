//! Reading a blob: stored bytes → header → chunk-by-chunk authenticated decryption.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::{GetResultPayload, ObjectStore};
use signet_core::blob::{BlobError, BlobKey, ByteStream};
use signet_core::crypto::MasterKey;

use crate::format::{ChunkOpener, Header, SEGMENT_LEN};

/// Bytes read from a local file per blocking task: 16 whole segments, about 1 MiB.
const FILE_READ_LEN: usize = 16 * SEGMENT_LEN;
use crate::{object_path, unexpected};

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
    let mut inner = match stored.payload {
        // object_store reads local files 8 KiB per blocking task; whole segments at a time cost
        // a fraction of that.
        GetResultPayload::File(file, _) => read_file(file),
        GetResultPayload::Stream(stream) => stream.map_err(io::Error::other).boxed(),
    };
    let mut buf = BytesMut::new();
    // The header is read before returning, so that a blob that cannot be opened at all (wrong
    // master key, foreign or damaged header) fails here rather than after a response has started.
    let header = loop {
        if let Some((header, len)) = Header::parse(&buf, master)? {
            buf.advance(len);
            break header;
        }
        match inner.next().await {
            Some(Ok(bytes)) => buf.extend_from_slice(&bytes),
            Some(Err(e)) => return Err(anyhow::Error::new(e).context("reading a blob").into()),
            None => return Err(BlobError::Corrupt),
        }
    };
    let reader = Reader {
        opener: ChunkOpener::new(&header, key),
        inner,
        buf,
        eof: false,
        done: false,
    };
    Ok(Box::pin(futures::stream::unfold(reader, Reader::next)))
}

/// The error a reader yields for stored bytes that fail authentication: kind `InvalidData`,
/// wrapping [`BlobError::Corrupt`] so that callers can tell it apart from an I/O failure.
fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, BlobError::Corrupt)
}

struct Reader {
    opener: ChunkOpener,
    inner: BoxStream<'static, io::Result<Bytes>>,
    /// Stored bytes read but not yet decrypted.
    buf: BytesMut,
    /// The stored object has been read to its end.
    eof: bool,
    /// The last chunk was opened, or an error was yielded: nothing more follows.
    done: bool,
}

impl Reader {
    async fn next(mut self) -> Option<(io::Result<Bytes>, Self)> {
        if self.done {
            return None;
        }
        loop {
            // A full segment followed by at least one more byte is known not to be the last.
            if self.buf.len() > SEGMENT_LEN {
                let segment = self.buf.split_to(SEGMENT_LEN);
                let item = self.opener.open_next(segment).map_err(|_| corrupt());
                self.done = item.is_err();
                return Some((item, self));
            }
            if self.eof {
                self.done = true;
                let segment = self.buf.split();
                return match self.opener.open_last(segment) {
                    Ok(last) if last.is_empty() => None,
                    Ok(last) => Some((Ok(last), self)),
                    Err(_) => Some((Err(corrupt()), self)),
                };
            }
            match self.inner.next().await {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(error)) => {
                    self.done = true;
                    return Some((Err(error), self));
                }
                None => self.eof = true,
            }
        }
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
