//! Reading the sound beside the picture, whatever the source's interleaving.
//!
//! The video is the clock (see `audio`): sound is encoded only up to where the picture has got to, and what
//! comes earlier waits, decoded, in memory. A file whose sound is stored far ahead of its picture (a capture
//! tool that writes minutes of audio before the matching video, an AVI or Matroska file muxed with a large
//! audio preload) would make that wait grow with the file: decoded stereo at 48 kHz is 1.4 GB an hour.
//!
//! So the sound gets a demuxer of its own, on the same file, that reads only the audio stream and only
//! [`READ_AHEAD_SECONDS`] past the picture's clock; the main demuxer reads only the video stream. Memory then
//! stays bounded by the read-ahead for every source. The price is that containers read sequentially
//! (Matroska, MPEG-TS, AVI) are parsed twice; MP4 skips the other stream's samples by seeking. Both costs are
//! small beside decoding and encoding.

use std::path::Path;
use std::time::Duration;

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::{Packet, Rational};

use super::audio::AudioPipeline;
use super::{read_packet, tolerate};
use crate::Error;
use crate::engine::EncodedTrack;
use crate::probe::InputPolicy;
use crate::probe::open::open_source;

/// How far past the picture's clock the sound is read: enough that the sound never waits for the demuxer,
/// little enough that what waits for the picture stays small (a second of decoded stereo is 384 KB).
pub(crate) const READ_AHEAD_SECONDS: f64 = 1.0;

/// The audio stream's own demuxer and the pipeline it feeds.
pub(crate) struct AudioFeed {
    input: Input,
    stream_index: usize,
    time_base: Rational,
    /// The video stream's first timestamp, in seconds: the sound's clock starts there too.
    video_start_seconds: f64,
    /// A packet read but not yet due: it lies more than the read-ahead past the picture.
    held: Option<Packet>,
    ended: bool,
    pipeline: AudioPipeline,
}

impl AudioFeed {
    /// Opens `path` again, through the same confined reader as the probe, to read stream `stream_index`.
    pub(crate) fn open(
        path: &Path,
        stream_index: usize,
        video_start_seconds: f64,
        pipeline: AudioPipeline,
    ) -> Result<Self, Error> {
        let mut source = open_source(path, &InputPolicy::default())?;
        let time_base = source.input.stream(stream_index).map(|stream| stream.time_base()).ok_or(Error::Ffmpeg {
            step: "opening the audio stream again",
            source: ffmpeg_next::Error::StreamNotFound,
        })?;
        read_only(&mut source.input, stream_index);
        Ok(Self {
            input: source.input,
            stream_index,
            time_base,
            video_start_seconds,
            held: None,
            ended: false,
            pipeline,
        })
    }

    /// Reads and encodes the sound up to [`READ_AHEAD_SECONDS`] past `video_seconds`, where the picture has got
    /// to. Packets the decoder refuses are counted in `bad_packets`, as the picture's are.
    pub(crate) fn catch_up(&mut self, video_seconds: f64, bad_packets: &mut u32, path: &Path) -> Result<(), Error> {
        while !self.ended {
            let packet = match self.held.take() {
                Some(packet) => packet,
                None => match read_packet(&mut self.input, path)? {
                    Some(packet) => packet,
                    None => {
                        self.ended = true;
                        break;
                    }
                },
            };
            if packet.stream() != self.stream_index {
                continue;
            }
            if self.seconds(&packet).is_some_and(|at| at > video_seconds + READ_AHEAD_SECONDS) {
                self.held = Some(packet);
                break;
            }
            tolerate(self.pipeline.push_packet(&packet, video_seconds), bad_packets, path)?;
        }
        Ok(())
    }

    /// Reads the sound up to the end of the picture, `video_seconds` long, and finishes the track there
    /// (padding with silence if the sound stops sooner). Sound after the picture's end is never read. Also
    /// returns the most sound that ever waited for the picture.
    pub(crate) fn finish(
        mut self,
        video_seconds: f64,
        bad_packets: &mut u32,
        path: &Path,
    ) -> Result<(EncodedTrack, Duration), Error> {
        self.catch_up(video_seconds, bad_packets, path)?;
        let peak = self.pipeline.buffered_peak();
        Ok((self.pipeline.finish(video_seconds)?, peak))
    }

    /// A packet's time on the output's clock (zero where the picture starts), when it has a timestamp.
    fn seconds(&self, packet: &Packet) -> Option<f64> {
        let stamp = packet.dts().or(packet.pts())?;
        Some(stamp as f64 * f64::from(self.time_base) - self.video_start_seconds)
    }
}

/// Makes a demuxer skip every stream but `keep`, so it neither returns nor (where the container allows)
/// reads their packets.
pub(crate) fn read_only(input: &mut Input, keep: usize) {
    // SAFETY: the context is open and owned by `input`; `streams` holds `nb_streams` valid stream pointers,
    // and `discard` is a plain field the demuxer reads on its next call.
    unsafe {
        let context = input.as_mut_ptr();
        for index in 0..(*context).nb_streams as usize {
            let stream = *(*context).streams.add(index);
            (*stream).discard =
                if index == keep { ffi::AVDiscard::AVDISCARD_DEFAULT } else { ffi::AVDiscard::AVDISCARD_ALL };
        }
    }
}
