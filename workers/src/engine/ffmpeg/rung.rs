//! One rung of the ladder on a thread of its own: scale, encode with x264, cut segments.
//!
//! The decoder and the shared filters run once on the engine's thread; each rung then takes a reference to
//! every output frame (no copy) and does its own scaling and encoding here. Scaling is single-threaded in
//! FFmpeg and x264's calls are partly serial, so giving each rung a thread lets those parts of the three rungs
//! run side by side with decoding, which keeps both cores busy.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use ffmpeg_next::codec;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{Dictionary, Packet, Rational, encoder, filter, frame, picture};
use lms_packager::ladder::IDR_INTERVAL_SECONDS;
use lms_packager::{RatePolicy, Rung};

use super::segmenter::SegmentWriter;
use super::{again_or_eof, ffmpeg_error};
use crate::Error;
use crate::engine::{EncodeSettings, EncodedTrack};

/// Frames a rung may have waiting: enough to ride out x264's uneven pace, few enough to bound memory.
const QUEUE_FRAMES: usize = 2;

/// The engine's side of a rung thread. Dropping it without [`RungHandle::finish`] (an encode that failed)
/// stops the thread without flushing and waits for it, so no thread writes into a build folder that is
/// being removed.
pub(crate) struct RungHandle {
    sender: Option<SyncSender<RungFrame>>,
    thread: Option<JoinHandle<Result<(Rung, EncodedTrack), Error>>>,
    abort: Arc<AtomicBool>,
    /// Frames x264 holds back for B-frames (its `has_b_frames`).
    delay_frames: i32,
}

impl Drop for RungHandle {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.abort.store(true, Ordering::Relaxed);
            self.sender = None;
            let _ = thread.join();
        }
    }
}

impl RungHandle {
    /// Opens the encoder and the segment writer, then starts the thread.
    pub(crate) fn start(
        rung: &Rung,
        rate: Rational,
        settings: &EncodeSettings,
        output_dir: &Path,
    ) -> Result<Self, Error> {
        let encoder = open_x264(rung, rate, settings)?;
        // SAFETY: the encoder is open; has_b_frames is only read.
        let delay_frames = unsafe { (*encoder.as_ptr()).has_b_frames };
        let writer =
            SegmentWriter::create(&output_dir.join(&rung.name), codec::Parameters::from(&encoder), rate.invert())?;
        let (sender, receiver) = sync_channel(QUEUE_FRAMES);
        let abort = Arc::new(AtomicBool::new(false));
        let worker = RungWorker {
            rung: rung.clone(),
            rate,
            encoder,
            writer,
            graph: None,
            last_scaled: None,
            next_idr: 0.0,
            abort: Arc::clone(&abort),
        };
        let thread = std::thread::Builder::new()
            .name(format!("rung-{}", rung.name))
            .spawn(move || worker.run(receiver))
            .map_err(|source| Error::Write { path: output_dir.to_owned(), source })?;
        Ok(Self { sender: Some(sender), thread: Some(thread), abort, delay_frames })
    }

    /// Frames x264 holds back for B-frames: how late the first frame is shown.
    pub(crate) fn delay_frames(&self) -> i32 {
        self.delay_frames
    }

    /// Hands the rung a reference to `frame`; `repeat` says its picture is the previous frame's. When the
    /// rung's thread has stopped, its error is returned.
    pub(crate) fn send(&mut self, frame: &frame::Video, repeat: bool) -> Result<(), Error> {
        let message = RungFrame { frame: reference(frame)?, repeat };
        let delivered = self.sender.as_ref().is_some_and(|sender| sender.send(message).is_ok());
        if delivered {
            return Ok(());
        }
        // The thread ended early: only an error ends it, so report that error.
        self.sender = None;
        Err(match self.join() {
            Err(error) => error,
            Ok(_) => Error::Ffmpeg { step: "encoding video (a rung stopped early)", source: ffmpeg_next::Error::Bug },
        })
    }

    /// Closes the rung's queue and waits for it to flush its encoder and close its last segment.
    pub(crate) fn finish(mut self) -> Result<(Rung, EncodedTrack), Error> {
        self.sender = None;
        self.join()
    }

    fn join(&mut self) -> Result<(Rung, EncodedTrack), Error> {
        let thread =
            self.thread.take().ok_or(Error::Ffmpeg { step: "joining a rung", source: ffmpeg_next::Error::Bug })?;
        thread.join().unwrap_or(Err(Error::Ffmpeg {
            step: "encoding a rung (its thread panicked)",
            source: ffmpeg_next::Error::Bug,
        }))
    }
}

/// A frame on its way to a rung.
struct RungFrame {
    frame: frame::Video,
    /// The picture is the same as the previous frame's (see [`super::repeat`]).
    repeat: bool,
}

/// A new reference to the same picture buffers: the rung threads share one decoded frame.
pub(super) fn reference(frame: &frame::Video) -> Result<frame::Video, Error> {
    let mut copy = frame::Video::empty();
    // SAFETY: `copy` is a fresh, empty frame, as av_frame_ref requires; `frame` is a valid, refcounted frame
    // from a buffersink, and FFmpeg's buffer references are thread-safe.
    let result = unsafe { ffmpeg_next::ffi::av_frame_ref(copy.as_mut_ptr(), frame.as_ptr()) };
    if result < 0 {
        return Err(Error::Ffmpeg { step: "sharing a frame with a rung", source: ffmpeg_next::Error::from(result) });
    }
    Ok(copy)
}

/// The thread's side: scaler, encoder and segment writer of one rung.
struct RungWorker {
    rung: Rung,
    rate: Rational,
    encoder: encoder::Video,
    writer: SegmentWriter,
    /// Built from the first frame, when its size and pixel format are known.
    graph: Option<filter::Graph>,
    /// The last picture the scaler made, reused for frames that repeat the one before.
    last_scaled: Option<frame::Video>,
    /// The output time of the next IDR to force, in seconds.
    next_idr: f64,
    /// Set when the encode failed elsewhere: stop without flushing.
    abort: Arc<AtomicBool>,
}

impl RungWorker {
    fn run(mut self, frames: Receiver<RungFrame>) -> Result<(Rung, EncodedTrack), Error> {
        for RungFrame { frame, repeat } in frames {
            if self.abort.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            if let (true, Some(last)) = (repeat, self.last_scaled.as_ref()) {
                // The same picture as last time: the same scaled picture, at this frame's time.
                let mut scaled = reference(last)?;
                scaled.set_pts(frame.pts());
                self.encode(&mut scaled)?;
                continue;
            }
            if self.graph.is_none() {
                self.graph = Some(self.build_graph(&frame)?);
            }
            let mut source = self.graph.as_mut().and_then(|graph| graph.get("in")).ok_or_else(missing_filter)?;
            source.source().add(&frame).map_err(ffmpeg_error("scaling video"))?;
            self.drain_graph()?;
        }
        if self.abort.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if let Some(graph) = self.graph.as_mut() {
            let mut source = graph.get("in").ok_or_else(missing_filter)?;
            source.source().flush().map_err(ffmpeg_error("flushing the scaler"))?;
        }
        self.drain_graph()?;
        self.encoder.send_eof().map_err(ffmpeg_error("flushing x264"))?;
        drain_encoder(&mut self.encoder, &mut self.writer)?;
        Ok((self.rung, self.writer.finish()?))
    }

    fn drain_graph(&mut self) -> Result<(), Error> {
        if self.graph.is_none() {
            return Ok(());
        }
        let mut scaled = frame::Video::empty();
        loop {
            let mut sink = self.graph.as_mut().and_then(|graph| graph.get("out")).ok_or_else(missing_filter)?;
            match sink.sink().frame(&mut scaled) {
                Ok(()) => {}
                Err(error) if again_or_eof(&error) => return Ok(()),
                Err(source) => return Err(Error::Ffmpeg { step: "scaling video", source }),
            }
            self.last_scaled = Some(reference(&scaled)?);
            self.encode(&mut scaled)?;
        }
    }

    /// Encodes one scaled picture, forcing an IDR on the first frame at or past each 2-second mark (and
    /// letting x264 place no others).
    fn encode(&mut self, scaled: &mut frame::Video) -> Result<(), Error> {
        let seconds = scaled.pts().unwrap_or(0) as f64 / f64::from(self.rate);
        if seconds + 1e-6 >= self.next_idr {
            scaled.set_kind(picture::Type::I);
            while self.next_idr <= seconds + 1e-6 {
                self.next_idr += IDR_INTERVAL_SECONDS;
            }
        } else {
            scaled.set_kind(picture::Type::None);
        }
        self.encoder.send_frame(scaled).map_err(ffmpeg_error("encoding video"))?;
        drain_encoder(&mut self.encoder, &mut self.writer)
    }

    fn build_graph(&self, first: &frame::Video) -> Result<filter::Graph, Error> {
        let mut graph = filter::Graph::new();
        let sar = first.aspect_ratio();
        let sar = if sar.numerator() > 0 && sar.denominator() > 0 { sar } else { Rational::new(1, 1) };
        let pixel_format: ffmpeg_next::ffi::AVPixelFormat = first.format().into();
        let time_base = self.rate.invert();
        let args = format!(
            "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            first.width(),
            first.height(),
            pixel_format as i32,
            time_base.numerator(),
            time_base.denominator(),
            sar.numerator(),
            sar.denominator(),
        );
        let buffer = filter::find("buffer").ok_or_else(missing_filter)?;
        let sink = filter::find("buffersink").ok_or_else(missing_filter)?;
        graph.add(&buffer, "in", &args).map_err(ffmpeg_error("creating the scaler's source"))?;
        let mut out = graph.add(&sink, "out", "").map_err(ffmpeg_error("creating the scaler's sink"))?;
        out.set_pixel_format(Pixel::YUV420P);
        let spec = format!(
            "[in]scale=w={}:h={}:flags=bicubic,setsar=1,format=yuv420p[out]",
            self.rung.width, self.rung.height
        );
        graph
            .output("in", 0)
            .and_then(|parser| parser.input("out", 0))
            .and_then(|parser| parser.parse(&spec))
            .map_err(ffmpeg_error("parsing the scaler"))?;
        graph.validate().map_err(ffmpeg_error("configuring the scaler"))?;
        Ok(graph)
    }
}

fn drain_encoder(encoder: &mut encoder::Video, writer: &mut SegmentWriter) -> Result<(), Error> {
    let mut packet = Packet::empty();
    loop {
        match encoder.receive_packet(&mut packet) {
            Ok(()) => writer.write(&mut packet)?,
            Err(error) if again_or_eof(&error) => return Ok(()),
            Err(source) => return Err(Error::Ffmpeg { step: "encoding video", source }),
        }
    }
}

fn missing_filter() -> Error {
    Error::Ffmpeg { step: "finding a filter of the scaler", source: ffmpeg_next::Error::FilterNotFound }
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
    // FFmpeg's library default is one thread per encoder (the ffmpeg CLI asks for "auto" itself). x264's own
    // choice, 1.5 per core, is too many with three encoders side by side: measured on two cores, one thread
    // per core per encoder is as fast and uses 7 % less memory (docs/BENCHMARKS.md).
    let threads = settings.x264_threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, |cores| u32::try_from(cores.get()).unwrap_or(2))
    });
    options.set("threads", &threads.to_string());
    options.set("profile", "high");
    options.set("crf", &policy.crf.to_string());
    options.set("maxrate", &policy.max_bitrate.to_string());
    options.set("bufsize", &policy.buffer_size.to_string());
    options.set("forced-idr", "1");
    options.set("x264-params", &format!("scenecut=0:open-gop=0:min-keyint={keyint}"));
    video.open_as_with(codec, options).map_err(ffmpeg_error("opening x264"))
}
