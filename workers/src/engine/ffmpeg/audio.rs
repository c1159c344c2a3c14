//! The audio side of an encode: one AAC-LC stereo 48 kHz track for every rung.
//!
//! A filter graph does the conversion and keeps sound in step with the picture: timestamps are shifted by
//! the video stream's start, so sound that starts late is preceded by silence (`aresample` with
//! `first_pts=0`) and gaps are filled; mono is spread to both channels and 5.1 is downmixed; sound shorter than
//! the picture is padded with silence; and frames are regrouped into the 1024 samples an AAC frame holds.
//!
//! The video is the clock. Filtered sound waits in a short queue and is encoded only up to the time the video
//! has reached; when the video ends, its exact length (known only then, since variable-rate sources become
//! constant-rate output) decides where the sound is cut, so every playlist of the ladder lasts as long as the
//! picture.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use ffmpeg_next::codec::{self};
use ffmpeg_next::format::Sample;
use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::{ChannelLayout, Dictionary, Packet, Rational, decoder, encoder, ffi, filter, frame};
use lms_packager::ladder::AUDIO_BITRATE;

use super::segmenter::SegmentWriter;
use super::{DECODING_AUDIO, again_or_eof, ffmpeg_error};
use crate::Error;
use crate::engine::EncodedTrack;

/// The output sample rate.
const SAMPLE_RATE: i32 = 48_000;
/// Samples in one AAC-LC frame.
const AAC_FRAME: u32 = 1024;

/// Decoder, filter graph and AAC encoder of the main audio stream.
pub(crate) struct AudioPipeline {
    decoder: decoder::Audio,
    graph: Option<filter::Graph>,
    source_time_base: Rational,
    /// The video stream's first timestamp, in this stream's time base: both start at zero together.
    start_pts: i64,
    /// Filtered frames not yet encoded: they wait for the video clock.
    pending: VecDeque<frame::Audio>,
    /// How many samples every packet is moved on: the sound starts when the picture does.
    shift: i64,
    /// Samples handed to the encoder so far.
    encoded_samples: i64,
    /// The most samples that ever waited in `pending` for the picture.
    pending_peak: i64,
    encoder: encoder::Audio,
    writer: SegmentWriter,
}

impl AudioPipeline {
    pub(crate) fn new(
        stream: &ffmpeg_next::format::stream::Stream,
        video_start_seconds: f64,
        video_delay_seconds: f64,
        output_dir: &Path,
    ) -> Result<Self, Error> {
        let context = codec::Context::from_parameters(stream.parameters())
            .map_err(ffmpeg_error("reading the audio stream's parameters"))?;
        let decoder = context.decoder().audio().map_err(ffmpeg_error("opening the audio decoder"))?;
        let encoder = open_aac()?;
        let time_base = Rational::new(1, SAMPLE_RATE);
        let writer = SegmentWriter::create(&output_dir.join("audio"), codec::Parameters::from(&encoder), time_base)?;
        let source_time_base = stream.time_base();
        let start_pts = (video_start_seconds * f64::from(source_time_base.invert())).round() as i64;
        // Where the sound's first sample is shown. The picture's first frame is shown after the encoder's
        // B-frame delay (the MP4 muxer shifts video by it); the sound is moved on by as much so they start
        // together. AAC's priming frame, stamped before zero, sits just before that; when the video has no
        // delay the track still starts at zero, since FFmpeg's HLS muxer cuts segments relative to the first
        // timestamp and must cut the sound on the same 4-second marks as the picture.
        // SAFETY: the encoder is open; initial_padding is only read.
        let priming = i64::from(unsafe { (*encoder.as_ptr()).initial_padding });
        let shift = ((video_delay_seconds * f64::from(SAMPLE_RATE)).round() as i64).max(priming);
        Ok(Self {
            shift,
            decoder,
            graph: None,
            source_time_base,
            start_pts,
            pending: VecDeque::new(),
            encoded_samples: 0,
            pending_peak: 0,
            encoder,
            writer,
        })
    }

    /// Decodes a packet of the audio stream, and encodes the sound up to `video_seconds`, where the video
    /// has got to.
    pub(crate) fn push_packet(&mut self, packet: &Packet, video_seconds: f64) -> Result<(), Error> {
        self.decoder.send_packet(packet).map_err(ffmpeg_error(DECODING_AUDIO))?;
        self.drain_decoder()?;
        self.encode_pending(self.track_samples(video_seconds), false)?;
        self.pending_peak = self.pending_peak.max(self.pending_samples());
        Ok(())
    }

    /// The most sound that waited for the picture at any time.
    pub(crate) fn buffered_peak(&self) -> Duration {
        Duration::from_secs_f64(self.pending_peak as f64 / f64::from(SAMPLE_RATE))
    }

    fn pending_samples(&self) -> i64 {
        self.pending.iter().map(|frame| frame.samples() as i64).sum()
    }

    /// Flushes everything, cuts the sound at `video_seconds` (the finished video's length) and closes the
    /// last segment.
    pub(crate) fn finish(mut self, video_seconds: f64) -> Result<EncodedTrack, Error> {
        self.decoder.send_eof().map_err(ffmpeg_error("flushing the audio decoder"))?;
        self.drain_decoder()?;
        if let Some(graph) = self.graph.as_mut() {
            let mut source = graph.get("in").ok_or_else(missing_filter)?;
            source.source().flush().map_err(ffmpeg_error("flushing the audio filters"))?;
        }
        // After the end of the sound, `apad` gives silence for as long as it is asked: take it one frame at a
        // time and encode as it comes, so padding an hour costs one frame of memory, not an hour of samples.
        let limit = self.track_samples(video_seconds);
        loop {
            self.encode_pending(limit, false)?;
            if self.encoded_samples + self.pending_samples() >= limit || !self.pull_frame()? {
                break;
            }
        }
        self.encode_pending(limit, true)?;
        self.encoder.send_eof().map_err(ffmpeg_error("flushing the AAC encoder"))?;
        self.drain_encoder()?;
        self.writer.finish()
    }

    /// The number of input samples that fill the track to `seconds`: the encoder's priming frame comes first
    /// in the track (see `drain_encoder`), so that much less sound is needed.
    fn track_samples(&self, seconds: f64) -> i64 {
        // SAFETY: the encoder is open; initial_padding is only read.
        let priming = i64::from(unsafe { (*self.encoder.as_ptr()).initial_padding });
        ((seconds * f64::from(SAMPLE_RATE)).round() as i64 - priming).max(0)
    }

    /// Encodes queued frames that end by `limit` samples; with `last`, also the part of the next frame that
    /// fits, and drops the rest.
    fn encode_pending(&mut self, limit: i64, last: bool) -> Result<(), Error> {
        while let Some(mut frame) = self.pending.pop_front() {
            let samples = frame.samples() as i64;
            let room = limit - self.encoded_samples;
            if samples <= room {
                frame.set_pts(Some(self.encoded_samples));
                self.encoded_samples += samples;
                self.encoder.send_frame(&frame).map_err(ffmpeg_error("encoding audio"))?;
                drain_encoder(&mut self.encoder, &mut self.writer, self.shift)?;
            } else if last {
                if room > 0 {
                    // A shorter last frame is allowed at the end of an AAC stream.
                    frame.set_samples(room as usize);
                    frame.set_pts(Some(self.encoded_samples));
                    self.encoded_samples += room;
                    self.encoder.send_frame(&frame).map_err(ffmpeg_error("encoding audio"))?;
                    drain_encoder(&mut self.encoder, &mut self.writer, self.shift)?;
                }
                self.pending.clear();
                return Ok(());
            } else {
                self.pending.push_front(frame);
                return Ok(());
            }
        }
        Ok(())
    }

    fn drain_decoder(&mut self) -> Result<(), Error> {
        let mut decoded = frame::Audio::empty();
        loop {
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(error) if again_or_eof(&error) => return Ok(()),
                Err(source) => return Err(Error::Ffmpeg { step: DECODING_AUDIO, source }),
            }
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&decoded)?);
            }
            let pts = decoded.timestamp().map(|pts| pts - self.start_pts);
            decoded.set_pts(pts);
            let mut source = self.graph.as_mut().and_then(|graph| graph.get("in")).ok_or_else(missing_filter)?;
            source.source().add(&decoded).map_err(ffmpeg_error("filtering audio"))?;
            self.drain_graph()?;
        }
    }

    fn drain_graph(&mut self) -> Result<(), Error> {
        while self.pull_frame()? {}
        Ok(())
    }

    /// Moves one filtered frame to the queue; false when the graph has none to give now.
    fn pull_frame(&mut self) -> Result<bool, Error> {
        let Some(graph) = self.graph.as_mut() else { return Ok(false) };
        let mut filtered = frame::Audio::empty();
        let mut sink = graph.get("out").ok_or_else(missing_filter)?;
        match sink.sink().frame(&mut filtered) {
            Ok(()) => {
                self.pending.push_back(filtered);
                Ok(true)
            }
            Err(error) if again_or_eof(&error) => Ok(false),
            Err(source) => Err(Error::Ffmpeg { step: "filtering audio", source }),
        }
    }

    fn drain_encoder(&mut self) -> Result<(), Error> {
        drain_encoder(&mut self.encoder, &mut self.writer, self.shift)
    }

    fn build_graph(&self, first: &frame::Audio) -> Result<filter::Graph, Error> {
        let mut graph = filter::Graph::new();
        let sample_format: ffi::AVSampleFormat = first.format().into();
        // SAFETY: the frame is a live decoded frame; its layout is only read.
        let (channels, layout) = unsafe {
            let raw = &*first.as_ptr();
            (raw.ch_layout.nb_channels, describe_layout(&raw.ch_layout))
        };
        let layout_arg = match layout {
            Some(name) => format!("channel_layout={name}"),
            None => format!("channels={channels}"),
        };
        let args = format!(
            "time_base={}/{}:sample_rate={}:sample_fmt={}:{layout_arg}",
            self.source_time_base.numerator(),
            self.source_time_base.denominator(),
            first.rate(),
            sample_format as i32,
        );
        let abuffer = filter::find("abuffer").ok_or_else(missing_filter)?;
        let abuffersink = filter::find("abuffersink").ok_or_else(missing_filter)?;
        graph.add(&abuffer, "in", &args).map_err(ffmpeg_error("creating the audio filter source"))?;
        graph.add(&abuffersink, "out", "").map_err(ffmpeg_error("creating the audio sink"))?;
        let spec = format!(
            "[in]aresample={SAMPLE_RATE}:async=1:min_hard_comp=0.1:first_pts=0,\
             aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo,\
             apad,asetnsamples=n={AAC_FRAME}:p=0[out]"
        );
        graph
            .output("in", 0)
            .and_then(|parser| parser.input("out", 0))
            .and_then(|parser| parser.parse(&spec))
            .map_err(ffmpeg_error("parsing the audio filter graph"))?;
        graph.validate().map_err(ffmpeg_error("configuring the audio filter graph"))?;
        Ok(graph)
    }
}

/// FFmpeg's name for a channel layout with a known order (`stereo`, `5.1(side)`); `None` when only the channel
/// count is known.
fn describe_layout(layout: &ffi::AVChannelLayout) -> Option<String> {
    if layout.order == ffi::AVChannelOrder::AV_CHANNEL_ORDER_UNSPEC {
        return None;
    }
    let mut buffer = [0 as std::ffi::c_char; 64];
    // SAFETY: FFmpeg writes at most `buffer.len()` bytes, NUL-terminated, into the buffer.
    let written = unsafe { ffi::av_channel_layout_describe(layout, buffer.as_mut_ptr(), buffer.len()) };
    if written <= 0 {
        return None;
    }
    // SAFETY: the buffer is NUL-terminated by FFmpeg.
    let name = unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) }.to_string_lossy().into_owned();
    Some(name)
}

/// Writes the encoder's packets, moved on by `shift` samples (see [`AudioPipeline::new`]).
fn drain_encoder(encoder: &mut encoder::Audio, writer: &mut SegmentWriter, shift: i64) -> Result<(), Error> {
    let mut packet = Packet::empty();
    loop {
        match encoder.receive_packet(&mut packet) {
            Ok(()) => {
                packet.set_pts(packet.pts().map(|pts| pts + shift));
                packet.set_dts(packet.dts().map(|dts| dts + shift));
                writer.write(&mut packet)?;
            }
            Err(error) if again_or_eof(&error) => return Ok(()),
            Err(source) => return Err(Error::Ffmpeg { step: "encoding audio", source }),
        }
    }
}

fn open_aac() -> Result<encoder::Audio, Error> {
    let codec = encoder::find_by_name("aac")
        .ok_or(Error::Ffmpeg { step: "finding the AAC encoder", source: ffmpeg_next::Error::EncoderNotFound })?;
    let mut audio = codec::Context::new_with_codec(codec).encoder().audio().map_err(ffmpeg_error("creating AAC"))?;
    audio.set_rate(SAMPLE_RATE);
    audio.set_format(Sample::F32(SampleType::Planar));
    audio.set_channel_layout(ChannelLayout::STEREO);
    // FFmpeg 5.1 reads the new layout field first; fill it too.
    // SAFETY: the context is not open yet; av_channel_layout_default only writes the given layout.
    unsafe { ffi::av_channel_layout_default(&mut (*audio.as_mut_ptr()).ch_layout, 2) };
    audio.set_bit_rate(AUDIO_BITRATE as usize);
    audio.set_time_base(Rational::new(1, SAMPLE_RATE));
    audio.set_flags(codec::Flags::GLOBAL_HEADER);
    audio.open_as_with(codec, Dictionary::new()).map_err(ffmpeg_error("opening the AAC encoder"))
}

fn missing_filter() -> Error {
    Error::Ffmpeg { step: "finding a filter of the audio graph", source: ffmpeg_next::Error::FilterNotFound }
}
