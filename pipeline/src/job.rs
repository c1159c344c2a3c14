//! Job messages: what the API asks the worker fleet to do.
//!
//! A message names its kind and version (`lms.transcode.v1`) so a worker can refuse what it does not
//! understand instead of guessing. Unknown fields are refused for the same reason. The JSON form is the
//! wire format on the queue and is pinned by a snapshot test: changing it is a protocol change.

use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// The wire name and version of [`TranscodeJob`].
pub const TRANSCODE_JOB_KIND: &str = "lms.transcode.v1";

/// "Turn this uploaded source into a ladder": one attempt of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscodeJob {
    /// Always [`TRANSCODE_JOB_KIND`].
    pub kind: String,
    /// The job, as the database knows it.
    pub job_id: String,
    /// The tenant that owns it.
    pub tenant_id: String,
    /// Which attempt this is, from 1. A worker whose attempt is older than the job's current one is fenced out,
    /// and every attempt publishes under its own prefix.
    pub attempt: u32,
    /// Storage path of the uploaded source.
    pub source: String,
    /// Subtitle files to publish with the ladder.
    pub subtitles: Vec<SubtitleRef>,
}

/// A subtitle file of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtitleRef {
    /// RFC 5646 language tag.
    pub language: String,
    /// Storage path of the SRT or WebVTT file.
    pub source: String,
}

impl TranscodeJob {
    /// The message as it goes on the queue.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a message from the queue, refusing other kinds and versions.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PipelineError> {
        let job: TranscodeJob =
            serde_json::from_slice(bytes).map_err(|error| PipelineError::InvalidJob { reason: error.to_string() })?;
        if job.kind != TRANSCODE_JOB_KIND {
            return Err(PipelineError::InvalidJob {
                reason: format!("kind {:?} is not {TRANSCODE_JOB_KIND:?}", job.kind),
            });
        }
        if job.attempt == 0 {
            return Err(PipelineError::InvalidJob { reason: "attempt numbers start at 1".into() });
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> TranscodeJob {
        TranscodeJob {
            kind: TRANSCODE_JOB_KIND.into(),
            job_id: "job-42".into(),
            tenant_id: "school-7".into(),
            attempt: 2,
            source: "sources/school-7/job-42/lecture.mp4".into(),
            subtitles: vec![SubtitleRef {
                language: "en".into(),
                source: "sources/school-7/job-42/lecture.en.srt".into(),
            }],
        }
    }

    /// The wire format: a change here is a protocol change between API and workers.
    #[test]
    fn wire_format_snapshot() {
        let text = String::from_utf8(job().to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"lms.transcode.v1","job_id":"job-42","tenant_id":"school-7","attempt":2,"source":"sources/school-7/job-42/lecture.mp4","subtitles":[{"language":"en","source":"sources/school-7/job-42/lecture.en.srt"}]}"#
        );
        assert_eq!(TranscodeJob::from_json(text.as_bytes()).unwrap(), job());
    }

    #[test]
    fn other_kinds_unknown_fields_and_attempt_zero_are_refused() {
        let other = String::from_utf8(job().to_json()).unwrap().replace("v1", "v2");
        assert!(TranscodeJob::from_json(other.as_bytes()).is_err());
        let extra = String::from_utf8(job().to_json()).unwrap().replace("\"attempt\"", "\"priority\":1,\"attempt\"");
        assert!(TranscodeJob::from_json(extra.as_bytes()).is_err());
        let zero = String::from_utf8(job().to_json()).unwrap().replace("\"attempt\":2", "\"attempt\":0");
        assert!(TranscodeJob::from_json(zero.as_bytes()).is_err());
        assert!(TranscodeJob::from_json(b"not json").is_err());
    }
}
