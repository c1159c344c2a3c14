//! The in-process engine on ffmpeg-next: demux and decode once, filter, encode every rung with x264 and the
//! sound once with FFmpeg's AAC encoder, and cut fMP4 segments.
//!
//! The source is opened through the probe's confined reader ([`crate::probe`]), so an engine never reads
//! anything the probe did not accept. Work happens on the calling thread; x264 and the decoder run their own
//! threads beside it.

mod audio;
mod interleave;
mod repeat;
mod rung;
mod segmenter;
mod video;

use std::path::Path;
use std::time::Duration;

use ffmpeg_next::{Packet, media};

use super::{EncodeRequest, EncodedLadder, Engine, Progress};
use crate::Error;
use crate::probe::{InputPolicy, StreamDetails, open::open_source};

/// The in-process FFmpeg engine.
#[derive(Debug, Clone, Default)]
pub struct FfmpegEngine;

impl Engine for FfmpegEngine {
    fn name(&self) -> &'static str {
        "ffmpeg"
    }

    fn encode(&self, request: &EncodeRequest, progress: &mut dyn FnMut(Progress)) -> Result<EncodedLadder, Error> {
        let mut source = open_source(&request.source, &InputPolicy::default())?;
        let probe = &request.probe;
        let video_index = probe.main_video_stream;
        let details = match probe.streams.get(video_index).map(|stream| &stream.details) {
            Some(StreamDetails::Video(details)) => details.clone(),
            _ => return Err(Error::NoVideo { path: request.source.clone() }),
        };
        let video_stream = source.input.stream(video_index).ok_or(Error::NoVideo { path: request.source.clone() })?;
        let video_start = match video_stream.start_time() {
            ffmpeg_next::ffi::AV_NOPTS_VALUE => 0.0,
            start => start as f64 * f64::from(video_stream.time_base()),
        };
        // The video's own length, not the container's: that one includes sound running past the picture.
        let total_seconds = match video_stream.duration() {
            duration if duration > 0 => Some(duration as f64 * f64::from(video_stream.time_base())),
            _ => probe.duration_seconds,
        };
        let mut video = video::VideoPipeline::new(
            &video_stream,
            &details,
            &request.ladder.rungs,
            &request.settings,
            &request.output_dir,
        )?;
        // The sound is read through a demuxer of its own (see `interleave`); this one only reads the picture.
        let mut audio = match probe.main_audio_stream.and_then(|index| source.input.stream(index).map(|s| (index, s))) {
            Some((index, stream)) if stream.parameters().medium() == media::Type::Audio => {
                let pipeline = audio::AudioPipeline::new(
                    &stream,
                    video_start,
                    video.presentation_delay_seconds(),
                    &request.output_dir,
                )?;
                Some(interleave::AudioFeed::open(&request.source, index, video_start, pipeline)?)
            }
            _ => None,
        };
        interleave::read_only(&mut source.input, video_index);

        let mut last_report = 0.0;
        let mut bad_packets = 0;
        loop {
            if request.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let Some(packet) = read_packet(&mut source.input, &request.source)? else { break };
            if packet.stream() == video_index {
                tolerate(video.push_packet(&packet), &mut bad_packets, &request.source)?;
                let encoded_seconds = video.encoded_seconds();
                if encoded_seconds - last_report >= 0.5 {
                    last_report = encoded_seconds;
                    progress(Progress { encoded_seconds, total_seconds, frames: video.frames });
                }
            }
            if let Some(audio) = audio.as_mut() {
                audio.catch_up(video.encoded_seconds(), &mut bad_packets, &request.source)?;
            }
        }
        let frames_before_flush = video.frames;
        let (video_tracks, video_seconds) = video.finish()?;
        let (audio_track, audio_buffered_peak) = match audio {
            Some(audio) => {
                let (track, peak) = audio.finish(video_seconds, &mut bad_packets, &request.source)?;
                (Some(track), peak)
            }
            None => (None, Duration::ZERO),
        };
        progress(Progress {
            encoded_seconds: total_seconds.unwrap_or(0.0),
            total_seconds,
            frames: frames_before_flush,
        });
        Ok(EncodedLadder { video: video_tracks, audio: audio_track, audio_buffered_peak })
    }
}

/// The next packet of a source, or `None` at its end. A failing disk is a read error (worth another try);
/// anything else the demuxer refuses means the file is damaged.
fn read_packet(input: &mut ffmpeg_next::format::context::Input, path: &Path) -> Result<Option<Packet>, Error> {
    // A fresh packet each time: FFmpeg 5.1's reader blanks a reused packet without releasing its buffer,
    // which leaked the whole compressed file over an encode.
    let mut packet = Packet::empty();
    match packet.read(input) {
        Ok(()) => Ok(Some(packet)),
        Err(ffmpeg_next::Error::Eof) => Ok(None),
        Err(ffmpeg_next::Error::Other { errno }) if errno == libc::EIO => {
            Err(Error::Read { path: path.to_owned(), source: std::io::Error::from_raw_os_error(errno) })
        }
        Err(source) => Err(Error::Damaged { path: path.to_owned(), step: "read the next packet", source }),
    }
}

/// How many packets a decoder may refuse as invalid before the source counts as damaged: a few corrupt
/// packets in a long recording are skipped (as players and the ffmpeg CLI do), a stream of them is not.
const MAX_BAD_PACKETS: u32 = 100;

/// Passes a decoder's refusal of one packet (decoders report damage with several codes, invalid data being
/// only the commonest), counting it; past [`MAX_BAD_PACKETS`] the source is damaged. Errors of every other
/// step (filters, encoders, writing) stand.
fn tolerate(result: Result<(), Error>, bad_packets: &mut u32, path: &Path) -> Result<(), Error> {
    match result {
        Err(Error::Ffmpeg { source, step: step @ (DECODING_VIDEO | DECODING_AUDIO) }) => {
            *bad_packets += 1;
            if *bad_packets > MAX_BAD_PACKETS {
                return Err(Error::Damaged {
                    path: path.to_owned(),
                    step: if step == DECODING_AUDIO { "decode the sound" } else { "decode the picture" },
                    source,
                });
            }
            Ok(())
        }
        other => other,
    }
}

/// The step names of decoding errors, which [`tolerate`] recognises.
pub(crate) const DECODING_VIDEO: &str = "decoding video";
/// See [`DECODING_VIDEO`].
pub(crate) const DECODING_AUDIO: &str = "decoding audio";

/// Whether an FFmpeg error only means "nothing more for now" or "nothing more at all".
fn again_or_eof(error: &ffmpeg_next::Error) -> bool {
    matches!(error, ffmpeg_next::Error::Eof)
        || matches!(error, ffmpeg_next::Error::Other { errno } if *errno == libc::EAGAIN)
}

/// Wraps an FFmpeg error with the step that failed.
fn ffmpeg_error(step: &'static str) -> impl Fn(ffmpeg_next::Error) -> Error {
    move |source| Error::Ffmpeg { step, source }
}
