//! The video side of an encode: decode once, filter once, and hand every frame to each rung's thread.
//!
//! One filter graph does the picture work every rung shares, once per source frame: deinterlacing (only for
//! interlaced frames), the rotation a phone recorded, and conversion to a constant frame rate (variable-rate
//! sources become constant-rate output). Each rung ([`super::rung`]) then scales and encodes on its own
//! thread, with an IDR forced at every 2-second mark of the output timeline and no other keyframe (scene
//! cuts off, closed GOPs); all rungs see the same frames, so their IDRs fall at the same instants and the
//! segmenter cuts them all alike.

use std::path::Path;

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::{Packet, Rational, decoder, filter, frame};
use lms_packager::Rung;

use super::repeat::RepeatDetector;
use super::rung::{RungHandle, reference};
use super::{DECODING_VIDEO, again_or_eof, ffmpeg_error};
use crate::Error;
use crate::engine::{EncodeSettings, EncodedTrack};
use crate::probe::VideoDetails;

/// Decoder, filter graph and rung encoders of the main video stream.
pub(crate) struct VideoPipeline {
    decoder: decoder::Video,
    /// Built from the first decoded frame, when its real size and pixel format are known.
    graph: Option<filter::Graph>,
    source_time_base: Rational,
    /// The stream's first timestamp: output starts at zero.
    start_pts: i64,
    output_rate: Rational,
    details: VideoDetails,
    rungs: Vec<RungHandle>,
    /// Where the picture ends, in the source's time base: the last frame's time plus its duration.
    end_pts: i64,
    /// One frame at the output rate, in the source's time base: the duration of a frame that states none.
    frame_ticks: i64,
    /// Frames handed to every rung.
    pub(crate) frames: u64,
    /// Tells the rungs which frames repeat the picture before them, so they need not scale it again.
    repeats: RepeatDetector,
    /// Frames that repeated the one before them.
    pub(crate) repeated_frames: u64,
}

impl VideoPipeline {
    pub(crate) fn new(
        stream: &ffmpeg_next::format::stream::Stream,
        details: &VideoDetails,
        rungs: &[Rung],
        settings: &EncodeSettings,
        output_dir: &Path,
    ) -> Result<Self, Error> {
        let mut context = codec::Context::from_parameters(stream.parameters())
            .map_err(ffmpeg_error("reading the video stream's parameters"))?;
        // Frame threads: decoding runs beside the encoders instead of before them.
        context.set_threading(threading::Config { kind: threading::Type::Frame, count: 0, ..Default::default() });
        // The probe checked the declared size; the decoder also refuses a stream that grows past the policy's
        // limit mid-way, before allocating such a picture.
        let codec = ffmpeg_next::decoder::find(stream.parameters().id())
            .ok_or(Error::Ffmpeg { step: "finding the video decoder", source: ffmpeg_next::Error::DecoderNotFound })?;
        let max_side = u64::from(crate::probe::InputPolicy::default().max_side);
        let mut options = ffmpeg_next::Dictionary::new();
        options.set("max_pixels", &(max_side * max_side).to_string());
        let decoder = context
            .decoder()
            .open_as_with(codec, options)
            .and_then(|opened| opened.video())
            .map_err(ffmpeg_error("opening the video decoder"))?;
        let output_rate = output_frame_rate(stream, details.scan.starts_with("interlaced"));
        let encoders = rungs
            .iter()
            .map(|rung| RungHandle::start(rung, output_rate, settings, output_dir))
            .collect::<Result<_, _>>()?;
        let start_pts = if stream.start_time() == ffmpeg_next::ffi::AV_NOPTS_VALUE { 0 } else { stream.start_time() };
        Ok(Self {
            decoder,
            graph: None,
            source_time_base: stream.time_base(),
            start_pts,
            output_rate,
            details: details.clone(),
            rungs: encoders,
            end_pts: 0,
            frame_ticks: (f64::from(stream.time_base().invert()) / f64::from(output_rate)).round().max(1.0) as i64,
            frames: 0,
            repeats: RepeatDetector::default(),
            repeated_frames: 0,
        })
    }

    /// How long after zero the first frame is shown: the encoders' B-frame delay, by which the MP4 muxer
    /// shifts the picture.
    pub(crate) fn presentation_delay_seconds(&self) -> f64 {
        let frames = self.rungs.iter().map(RungHandle::delay_frames).max().unwrap_or(0);
        f64::from(frames) / f64::from(self.output_rate)
    }

    /// The output timeline's seconds at the last encoded frame.
    pub(crate) fn encoded_seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.output_rate)
    }

    /// Decodes a packet of the video stream and encodes whatever frames it yields.
    pub(crate) fn push_packet(&mut self, packet: &Packet) -> Result<(), Error> {
        self.decoder.send_packet(packet).map_err(ffmpeg_error(DECODING_VIDEO))?;
        self.drain_decoder()
    }

    /// Flushes decoder, filters and encoders, closes every rung's last segment, and returns the tracks with
    /// the output's length in seconds.
    pub(crate) fn finish(mut self) -> Result<(Vec<(Rung, EncodedTrack)>, f64), Error> {
        self.decoder.send_eof().map_err(ffmpeg_error("flushing the video decoder"))?;
        self.drain_decoder()?;
        if let Some(graph) = self.graph.as_mut() {
            // Closing with the end time (not a plain flush) lets the `fps` filter emit the last frame for as
            // long as it is shown: a plain flush drops it, and with it a final slide held for a minute.
            graph
                .get("in")
                .ok_or_else(missing_filter)?
                .source()
                .close(self.end_pts)
                .map_err(ffmpeg_error("flushing the video filters"))?;
        }
        self.drain_graph()?;
        let seconds = self.encoded_seconds();
        let tracks = self.rungs.into_iter().map(RungHandle::finish).collect::<Result<_, _>>()?;
        Ok((tracks, seconds))
    }

    fn drain_decoder(&mut self) -> Result<(), Error> {
        let mut decoded = frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(error) if again_or_eof(&error) => return Ok(()),
                Err(source) => return Err(Error::Ffmpeg { step: DECODING_VIDEO, source }),
            }
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&decoded)?);
            }
            let pts = decoded.timestamp().map(|pts| pts - self.start_pts);
            decoded.set_pts(pts);
            if let Some(pts) = pts {
                let duration = match decoded.packet().duration {
                    duration if duration > 0 => duration,
                    _ => self.frame_ticks,
                };
                self.end_pts = self.end_pts.max(pts + duration);
            }
            self.graph
                .as_mut()
                .and_then(|graph| graph.get("in"))
                .ok_or_else(missing_filter)?
                .source()
                .add(&decoded)
                .map_err(ffmpeg_error("filtering video"))?;
            self.drain_graph()?;
        }
    }

    fn drain_graph(&mut self) -> Result<(), Error> {
        let Some(graph) = self.graph.as_mut() else { return Ok(()) };
        let mut filtered = frame::Video::empty();
        loop {
            let mut sink = graph.get("out").ok_or_else(missing_filter)?;
            match sink.sink().frame(&mut filtered) {
                Ok(()) => {}
                Err(error) if again_or_eof(&error) => return Ok(()),
                Err(source) => return Err(Error::Ffmpeg { step: "filtering video", source }),
            }
            let repeat = self.repeats.is_repeat(&filtered, reference(&filtered)?);
            self.repeated_frames += u64::from(repeat);
            for rung in &mut self.rungs {
                rung.send(&filtered, repeat)?;
            }
            self.frames += 1;
        }
    }

    fn build_graph(&self, first: &frame::Video) -> Result<filter::Graph, Error> {
        let mut graph = filter::Graph::new();
        let sar = first.aspect_ratio();
        let sar = if sar.numerator() > 0 && sar.denominator() > 0 { sar } else { Rational::new(1, 1) };
        let pixel_format: ffmpeg_next::ffi::AVPixelFormat = first.format().into();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            first.width(),
            first.height(),
            pixel_format as i32,
            self.source_time_base.numerator(),
            self.source_time_base.denominator(),
            sar.numerator(),
            sar.denominator(),
        );
        let buffer = filter::find("buffer").ok_or_else(missing_filter)?;
        let sink = filter::find("buffersink").ok_or_else(missing_filter)?;
        graph.add(&buffer, "in", &args).map_err(ffmpeg_error("creating the video filter source"))?;
        graph.add(&sink, "out", "").map_err(ffmpeg_error("creating the video sink"))?;
        let spec = self.graph_spec();
        graph
            .output("in", 0)
            .and_then(|parser| parser.input("out", 0))
            .and_then(|parser| parser.parse(&spec))
            .map_err(ffmpeg_error("parsing the video filter graph"))?;
        graph.validate().map_err(ffmpeg_error("configuring the video filter graph"))?;
        Ok(graph)
    }

    /// The filter graph of the shared steps; each rung scales on its own thread.
    fn graph_spec(&self) -> String {
        let mut steps = Vec::new();
        if self.details.scan.starts_with("interlaced") {
            // send_frame keeps the frame rate; deint=interlaced leaves progressive frames alone.
            steps.push("yadif=mode=send_frame:parity=auto:deint=interlaced".to_owned());
        }
        match self.details.rotation {
            90 => steps.push("transpose=clock".into()),
            180 => steps.push("hflip,vflip".into()),
            270 => steps.push("transpose=cclock".into()),
            _ => {}
        }
        // start_time=0: the output's first frame sits at zero even when the source's first picture comes a
        // little after the stream's start (Matroska rounds to milliseconds; a B-frame's reordering offset
        // shows there): without it the output began at frame 1, every forced IDR fell a frame before its
        // 2-second mark once players counted from the first frame, and segments came out 6 s long.
        steps.push(format!("fps=fps={}/{}:start_time=0", self.output_rate.numerator(), self.output_rate.denominator()));
        // Labels name the filter contexts the parser links to: "in" is the buffer source, "out" the sink.
        format!("[in]{}[out]", steps.join(","))
    }
}

fn missing_filter() -> Error {
    Error::Ffmpeg { step: "finding a filter of the video graph", source: ffmpeg_next::Error::FilterNotFound }
}

/// The output's constant frame rate.
///
/// FFmpeg's `r_frame_rate` is the rate every timestamp fits on: for a constant-rate source it equals the
/// average, and for a variable-rate one (a screen recorder that idles) it is the busy rate, which keeps motion
/// smooth where the average would halve it. It is not trusted when it is implausible (container time bases
/// such as 1000/1 show up there) or when an interlaced source reports its field rate; then the average is
/// used. Output never exceeds 60 fps, the highest rate HLS players are asked to decode, and never falls
/// below 10 fps: a sparse recording (an idle screen capture reports 0.5 fps) becomes 30 fps, repeating
/// frames, which costs x264 almost nothing, instead of a slideshow for the rest of the lecture.
fn output_frame_rate(stream: &ffmpeg_next::format::stream::Stream, interlaced: bool) -> Rational {
    const MAX_FPS: f64 = 60.0;
    const MIN_FPS: f64 = 10.0;
    let plausible = |rate: Rational| {
        rate.numerator() > 0 && rate.denominator() > 0 && (MIN_FPS..=MAX_FPS + 1.0).contains(&f64::from(rate))
    };
    let (real, average) = (stream.rate(), stream.avg_frame_rate());
    let field_rate = interlaced && plausible(average) && f64::from(real) > f64::from(average) * 1.5;
    if plausible(real) && !field_rate {
        real
    } else if plausible(average) {
        average
    } else if real.numerator() > 0 && real.denominator() > 0 && f64::from(real) > MAX_FPS {
        Rational::new(60, 1)
    } else {
        Rational::new(30, 1)
    }
}
