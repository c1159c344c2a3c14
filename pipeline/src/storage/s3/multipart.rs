//! Multipart uploads: how a large file goes up to S3, and how uploads that never finished are cleaned up.
//!
//! A file above the threshold is sent in parts read straight from disk, a few at a time, each with its own
//! checksum, so memory stays flat, a failed part is retried alone, and a damaged part is refused. On any
//! failure the upload is aborted before the error returns, since an unfinished upload keeps its parts (and
//! costs) until someone aborts it. What a crash or a cancelled task still leaves behind,
//! [`S3Storage::abort_abandoned_uploads`] sweeps.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, DateTime, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinSet;

use super::{CHECKSUM, FILE_BUFFER, S3Storage, local_s3_error, s3_error};
use crate::PipelineError;
use crate::storage::{ObjectMeta, StorageKey};

const MIB: u64 = 1024 * 1024;
/// Files larger than this go up in parts: below it, one request is cheaper and a retry resends little.
pub const MULTIPART_THRESHOLD: u64 = 16 * MIB;
/// The size of every part but the last.
pub const PART_SIZE: u64 = 16 * MIB;
/// S3's smallest part (but the last).
const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's largest part.
const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// S3's most parts in one upload; a file too large for that many parts gets larger ones.
const MAX_PARTS: u64 = 10_000;
/// Parts in flight at once: enough to fill a link, few enough that a retrying part does not time out waiting.
const PARALLEL_PARTS: usize = 4;

/// When a file goes up in parts, and how large they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartSizes {
    threshold: u64,
    part_size: u64,
}

impl MultipartSizes {
    /// [`MULTIPART_THRESHOLD`] and [`PART_SIZE`].
    pub const DEFAULT: MultipartSizes = MultipartSizes { threshold: MULTIPART_THRESHOLD, part_size: PART_SIZE };

    /// Files larger than `threshold` bytes go up in parts of `part_size` bytes, which S3 allows from 5 MiB to
    /// 5 GiB (only the last part may be smaller).
    pub fn new(threshold: u64, part_size: u64) -> Result<Self, PipelineError> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
            return Err(PipelineError::Config {
                reason: format!("a part size of {part_size} bytes is outside 5 MiB to 5 GiB"),
            });
        }
        Ok(Self { threshold, part_size })
    }

    /// The size above which a file goes up in parts.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    /// The size of every part but the last.
    pub fn part_size(&self) -> u64 {
        self.part_size
    }

    /// The part size for a file of `size` bytes: the configured one, or larger when that would need more than
    /// S3's 10,000 parts.
    fn part_size_for(&self, size: u64) -> u64 {
        self.part_size.max(size.div_ceil(MAX_PARTS))
    }
}

/// What every part's request needs; cloned into each part's task.
#[derive(Debug, Clone)]
struct Upload {
    client: Client,
    bucket: String,
    path: String,
    upload_id: String,
    file: PathBuf,
}

/// Sends `file` (of `size` bytes) to `key` in parts, aborting the upload when anything fails.
pub(super) async fn upload(
    s3: &S3Storage,
    key: &StorageKey,
    file: &Path,
    size: u64,
    meta: &ObjectMeta,
) -> Result<(), PipelineError> {
    let path = key.path();
    let created = s3
        .client
        .create_multipart_upload()
        .bucket(&s3.bucket)
        .key(&path)
        .content_type(meta.content_type)
        .cache_control(meta.cache_control)
        .checksum_algorithm(CHECKSUM)
        .send()
        .await
        .map_err(|error| s3_error("CreateMultipartUpload", &path, error))?;
    let Some(upload_id) = created.upload_id() else {
        let error = std::io::Error::other("the server gave no upload id");
        return Err(local_s3_error("CreateMultipartUpload", &path, error));
    };
    let upload = Upload {
        client: s3.client.clone(),
        bucket: s3.bucket.clone(),
        path: path.clone(),
        upload_id: upload_id.to_owned(),
        file: file.to_owned(),
    };
    let sent = async {
        let parts = send_parts(&upload, size, s3.sizes.part_size_for(size)).await?;
        complete(&upload, parts).await
    };
    match sent.await {
        Ok(()) => Ok(()),
        Err(error) => {
            // The upload's own error is the one to report. Should the abort fail too, the upload is left to
            // `abort_abandoned_uploads`.
            let _ = upload
                .client
                .abort_multipart_upload()
                .bucket(&upload.bucket)
                .key(&upload.path)
                .upload_id(&upload.upload_id)
                .send()
                .await;
            Err(error)
        }
    }
}

/// Sends every part, at most [`PARALLEL_PARTS`] at once; the completed parts in order.
async fn send_parts(upload: &Upload, size: u64, part_size: u64) -> Result<Vec<CompletedPart>, PipelineError> {
    let count = size.div_ceil(part_size);
    let mut parts = Vec::new();
    let mut running = JoinSet::new();
    let mut next: u64 = 0;
    loop {
        while next < count && running.len() < PARALLEL_PARTS {
            let offset = next * part_size;
            let length = part_size.min(size - offset);
            // Part numbers start at 1 and stop at 10,000, so they fit.
            let number = i32::try_from(next + 1).unwrap_or(i32::MAX);
            running.spawn(send_part(upload.clone(), number, offset, length));
            next += 1;
        }
        let Some(joined) = running.join_next().await else { break };
        let finished = joined.map_err(|error| local_s3_error("UploadPart", &upload.path, error)).and_then(|part| part);
        match finished {
            Ok(part) => parts.push(part),
            Err(error) => {
                // Stop the other parts before the caller aborts the upload under them.
                running.shutdown().await;
                return Err(error);
            }
        }
    }
    parts.sort_by_key(|part| part.part_number());
    Ok(parts)
}

/// Sends one part, read from the file at `offset`; the SDK rereads that range when it retries.
async fn send_part(upload: Upload, number: i32, offset: u64, length: u64) -> Result<CompletedPart, PipelineError> {
    let body = ByteStream::read_from()
        .path(&upload.file)
        .offset(offset)
        .length(Length::Exact(length))
        .buffer_size(FILE_BUFFER)
        .build()
        .await
        .map_err(|error| PipelineError::Local { path: upload.file.clone(), source: std::io::Error::other(error) })?;
    let sent = upload
        .client
        .upload_part()
        .bucket(&upload.bucket)
        .key(&upload.path)
        .upload_id(&upload.upload_id)
        .part_number(number)
        .content_length(i64::try_from(length).unwrap_or(i64::MAX))
        .checksum_algorithm(CHECKSUM)
        .body(body)
        .send()
        .await
        .map_err(|error| s3_error("UploadPart", &upload.path, error))?;
    // The part's checksum goes back in the completion, where the server checks it against what it stored.
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(sent.e_tag().map(str::to_owned))
        .set_checksum_crc32(sent.checksum_crc32().map(str::to_owned))
        .build())
}

async fn complete(upload: &Upload, parts: Vec<CompletedPart>) -> Result<(), PipelineError> {
    upload
        .client
        .complete_multipart_upload()
        .bucket(&upload.bucket)
        .key(&upload.path)
        .upload_id(&upload.upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .map_err(|error| s3_error("CompleteMultipartUpload", &upload.path, error))?;
    Ok(())
}

impl S3Storage {
    /// Aborts every multipart upload in the bucket started at least `older_than` ago; how many.
    pub(crate) async fn abort_abandoned_uploads(&self, older_than: Duration) -> Result<usize, PipelineError> {
        let cutoff = DateTime::from(SystemTime::now().checked_sub(older_than).unwrap_or(SystemTime::UNIX_EPOCH));
        let mut aborted = 0;
        let (mut key_marker, mut upload_id_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(upload_id_marker.take())
                .send()
                .await
                .map_err(|error| s3_error("ListMultipartUploads", &self.bucket, error))?;
            for upload in page.uploads() {
                let (Some(key), Some(upload_id), Some(initiated)) =
                    (upload.key(), upload.upload_id(), upload.initiated())
                else {
                    continue;
                };
                if *initiated > cutoff {
                    continue;
                }
                let request =
                    self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send();
                match request.await {
                    Ok(_) => aborted += 1,
                    // Completed or aborted by someone else since the listing.
                    Err(error) if error.as_service_error().is_some_and(|service| service.is_no_such_upload()) => {}
                    Err(error) => return Err(s3_error("AbortMultipartUpload", key, error)),
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            upload_id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() && upload_id_marker.is_none() {
                break;
            }
        }
        Ok(aborted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_follow_s3_limits() {
        assert!(MultipartSizes::new(0, 5 * MIB - 1).is_err());
        assert!(MultipartSizes::new(0, 5 * 1024 * MIB + 1).is_err());
        let sizes = MultipartSizes::new(5 * MIB, 5 * MIB).unwrap();
        assert_eq!(sizes.part_size_for(12 * MIB), 5 * MIB);
        // 100 GiB in 5 MiB parts would be 20,480 parts: the parts grow to stay within 10,000.
        let large = 100 * 1024 * MIB;
        assert!(large.div_ceil(sizes.part_size_for(large)) <= MAX_PARTS);
    }
}
