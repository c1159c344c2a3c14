//! The video side of an encode: decode once, filter once into every rung's size, encode each rung with x264.
//!
//! One filter graph does all picture work, so each step runs once per source frame: deinterlacing (only for
//! interlaced frames), the rotation a phone recorded, conversion to a constant frame rate (variable-rate
//! sources become constant-rate output), then a `split` into one scaler per rung. Each rung's encoder gets
//! an IDR forced at every 2-second mark of the output timeline and no other keyframe (scene cuts off, closed
//! GOPs), so every rung has its IDRs at the same instants and the segmenter cuts them all alike.

use std::path::Path;

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{Dictionary, Packet, Rational, decoder, encoder, filter, frame, picture};
use lms_packager::ladder::IDR_INTERVAL_SECONDS;
use lms_packager::{RatePolicy, Rung};

use super::segmenter::SegmentWriter;
use super::{again_or_eof, ffmpeg_error};
use crate::Error;
use crate::engine::{EncodeSettings, EncodedTrack};
use crate::probe::VideoDetails;

/// One rung: its encoder and its segment writer.
struct RungEncoder {
    rung: Rung,
    encoder: encoder::Video,
    writer: SegmentWriter,
    /// The output time of the next IDR to force, in seconds.
    next_idr: f64,
}

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
    rungs: Vec<RungEncoder>,
    /// Frames encoded per rung.
    pub(crate) frames: u64,
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
        let decoder = context.decoder().video().map_err(ffmpeg_error("opening the video decoder"))?;
        let output_rate = output_frame_rate(stream, details.scan.starts_with("interlaced"));
        let time_base = output_rate.invert();
        let mut encoders = Vec::with_capacity(rungs.len());
        for rung in rungs {
            let encoder = open_x264(rung, output_rate, settings)?;
            let writer =
                SegmentWriter::create(&output_dir.join(&rung.name), codec::Parameters::from(&encoder), time_base)?;
            encoders.push(RungEncoder { rung: rung.clone(), encoder, writer, next_idr: 0.0 });
        }
        let start_pts = if stream.start_time() == ffmpeg_next::ffi::AV_NOPTS_VALUE { 0 } else { stream.start_time() };
        Ok(Self {
            decoder,
            graph: None,
            source_time_base: stream.time_base(),
            start_pts,
            output_rate,
            details: details.clone(),
            rungs: encoders,
            frames: 0,
        })
    }

    /// The output timeline's seconds at the last encoded frame.
    pub(crate) fn encoded_seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.output_rate)
    }

    /// Decodes a packet of the video stream and encodes whatever frames it yields.
    pub(crate) fn push_packet(&mut self, packet: &Packet) -> Result<(), Error> {
        self.decoder.send_packet(packet).map_err(ffmpeg_error("decoding video"))?;
        self.drain_decoder()
    }

    /// Flushes decoder, filters and encoders, closes every rung's last segment, and returns the tracks with
    /// the output's length in seconds.
    pub(crate) fn finish(mut self) -> Result<(Vec<(Rung, EncodedTrack)>, f64), Error> {
        self.decoder.send_eof().map_err(ffmpeg_error("flushing the video decoder"))?;
        self.drain_decoder()?;
        if let Some(graph) = self.graph.as_mut() {
            graph
                .get("in")
                .ok_or_else(missing_filter)?
                .source()
                .flush()
                .map_err(ffmpeg_error("flushing the video filters"))?;
        }
        self.drain_graph()?;
        let seconds = self.encoded_seconds();
        let mut tracks = Vec::with_capacity(self.rungs.len());
        for mut rung in self.rungs {
            rung.encoder.send_eof().map_err(ffmpeg_error("flushing x264"))?;
            drain_encoder(&mut rung)?;
            tracks.push((rung.rung, rung.writer.finish()?));
        }
        Ok((tracks, seconds))
    }

    fn drain_decoder(&mut self) -> Result<(), Error> {
        let mut decoded = frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(error) if again_or_eof(&error) => return Ok(()),
                Err(source) => return Err(Error::Ffmpeg { step: "decoding video", source }),
            }
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&decoded)?);
            }
            let pts = decoded.timestamp().map(|pts| pts - self.start_pts);
            decoded.set_pts(pts);
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
        for (index, rung) in self.rungs.iter_mut().enumerate() {
            let mut sink = graph.get(&format!("out{index}")).ok_or_else(missing_filter)?;
            loop {
                match sink.sink().frame(&mut filtered) {
                    Ok(()) => {}
                    Err(error) if again_or_eof(&error) => break,
                    Err(source) => return Err(Error::Ffmpeg { step: "filtering video", source }),
                }
                let seconds = filtered.pts().unwrap_or(0) as f64 / f64::from(self.output_rate);
                // Force an IDR on the first frame at or past each 2-second mark; let x264 place no others.
                if seconds + 1e-6 >= rung.next_idr {
                    filtered.set_kind(picture::Type::I);
                    while rung.next_idr <= seconds + 1e-6 {
                        rung.next_idr += IDR_INTERVAL_SECONDS;
                    }
                } else {
                    filtered.set_kind(picture::Type::None);
                }
                rung.encoder.send_frame(&filtered).map_err(ffmpeg_error("encoding video"))?;
                drain_encoder(rung)?;
                if index == 0 {
                    self.frames += 1;
                }
            }
        }
        Ok(())
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
        for index in 0..self.rungs.len() {
            let mut out =
                graph.add(&sink, &format!("out{index}"), "").map_err(ffmpeg_error("creating a video sink"))?;
            out.set_pixel_format(Pixel::YUV420P);
        }
        let spec = self.graph_spec();
        let mut parser = graph.output("in", 0).map_err(ffmpeg_error("linking the video filters"))?;
        for index in 0..self.rungs.len() {
            parser = parser.input(&format!("out{index}"), 0).map_err(ffmpeg_error("linking the video filters"))?;
        }
        parser.parse(&spec).map_err(ffmpeg_error("parsing the video filter graph"))?;
        graph.validate().map_err(ffmpeg_error("configuring the video filter graph"))?;
        Ok(graph)
    }

    /// The filter graph: shared steps, then one scaler per rung.
    fn graph_spec(&self) -> String {
        let mut shared = Vec::new();
        if self.details.scan.starts_with("interlaced") {
            // send_frame keeps the frame rate; deint=interlaced leaves progressive frames alone.
            shared.push("yadif=mode=send_frame:parity=auto:deint=interlaced".to_owned());
        }
        match self.details.rotation {
            90 => shared.push("transpose=clock".into()),
            180 => shared.push("hflip,vflip".into()),
            270 => shared.push("transpose=cclock".into()),
            _ => {}
        }
        shared.push(format!("fps=fps={}/{}", self.output_rate.numerator(), self.output_rate.denominator()));
        let count = self.rungs.len();
        let labels: String = (0..count).map(|index| format!("[s{index}]")).collect();
        // Labels name the filter contexts the parser links to: "in" is the buffer source, "outN" the sinks.
        let mut spec = format!("[in]{},split={count}{labels}", shared.join(","));
        for (index, rung) in self.rungs.iter().enumerate() {
            spec += &format!(
                ";[s{index}]scale=w={}:h={}:flags=bicubic,setsar=1,format=yuv420p[out{index}]",
                rung.rung.width, rung.rung.height
            );
        }
        spec
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
/// used. Output never exceeds 60 fps, the highest rate HLS players are asked to decode.
fn output_frame_rate(stream: &ffmpeg_next::format::stream::Stream, interlaced: bool) -> Rational {
    const MAX_FPS: f64 = 60.0;
    let plausible = |rate: Rational| rate.numerator() > 0 && rate.denominator() > 0 && f64::from(rate) <= MAX_FPS + 1.0;
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

fn open_x264(rung: &Rung, rate: Rational, settings: &EncodeSettings) -> Result<encoder::Video, Error> {
    let codec = encoder::find_by_name("libx264")
        .ok_or(Error::Ffmpeg { step: "finding the libx264 encoder", source: ffmpeg_next::Error::EncoderNotFound })?;
    let mut video = codec::Context::new_with_codec(codec).encoder().video().map_err(ffmpeg_error("creating x264"))?;
    video.set_width(rung.width);
    video.set_height(rung.height);
    video.set_format(Pixel::YUV420P);
    video.set_time_base(rate.invert());
    video.set_frame_rate(Some(rate));
    video.set_aspect_ratio(Rational::new(1, 1));
    // The init segment carries SPS and PPS (avcC), as fMP4 requires.
    video.set_flags(codec::Flags::GLOBAL_HEADER);
    // Natural keyframes only past the forced ones: the GOP limit sits just beyond the 2-second mark.
    let keyint = (IDR_INTERVAL_SECONDS * f64::from(rate)).ceil() as u32 + 1;
    video.set_gop(keyint);
    let policy = RatePolicy::for_rung(rung);
    let mut options = Dictionary::new();
    options.set("preset", &settings.x264_preset);
    options.set("profile", "high");
    options.set("crf", &policy.crf.to_string());
    options.set("maxrate", &policy.max_bitrate.to_string());
    options.set("bufsize", &policy.buffer_size.to_string());
    options.set("forced-idr", "1");
    options.set("x264-params", &format!("scenecut=0:open-gop=0:min-keyint={keyint}"));
    video.open_as_with(codec, options).map_err(ffmpeg_error("opening x264"))
}

fn drain_encoder(rung: &mut RungEncoder) -> Result<(), Error> {
    let mut packet = Packet::empty();
    loop {
        match rung.encoder.receive_packet(&mut packet) {
            Ok(()) => rung.writer.write(&mut packet)?,
            Err(error) if again_or_eof(&error) => return Ok(()),
            Err(source) => return Err(Error::Ffmpeg { step: "encoding video", source }),
        }
    }
}
