//! Probing a source: what it holds, whether the input policy accepts it, and the ladder it would get.
//!
//! This is the gate every upload and every `lms-media transcode` passes first. It is safe to run on hostile
//! files: see [`open`] for how FFmpeg is confined to the one file, and [`policy`] for what is accepted.

pub(crate) mod open;
pub mod policy;
mod sniff;

use std::path::{Path, PathBuf};

use ffmpeg_next::ffi;
use ffmpeg_next::format::stream::Stream;
use ffmpeg_next::{Rational, media};
use lms_packager::{Ladder, SourceGeometry};
use serde::Serialize;

pub use policy::InputPolicy;

use crate::Error;

/// What a probe learned about an accepted source.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The file probed.
    pub path: PathBuf,
    /// The container, as FFmpeg's demuxer names (`mov,mp4,m4a,3gp,3g2,mj2`).
    pub container: String,
    /// FFmpeg's description of the container.
    pub container_description: String,
    /// The file's size in bytes.
    pub size_bytes: u64,
    /// The programme's duration in seconds, when the container states it.
    pub duration_seconds: Option<f64>,
    /// The overall bitrate in bits per second, when known.
    pub bit_rate: Option<u64>,
    /// Every stream, in container order.
    pub streams: Vec<StreamReport>,
    /// The index of the video stream the ladder is made from.
    pub main_video_stream: usize,
    /// The index of the audio stream that would be encoded, if any.
    pub main_audio_stream: Option<usize>,
    /// The renditions this source would get.
    pub ladder: Ladder,
}

/// One stream of the source.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    /// The stream's index in the container.
    pub index: usize,
    /// FFmpeg's codec name (`h264`, `aac`).
    pub codec: String,
    /// The stream's language tag, when the container has one.
    pub language: Option<String>,
    /// What the stream carries, with the facts of that kind.
    #[serde(flatten)]
    pub details: StreamDetails,
}

/// The facts that depend on a stream's kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamDetails {
    /// A moving picture.
    Video(VideoDetails),
    /// Sound.
    Audio(AudioDetails),
    /// A still image attached as cover art; never transcoded.
    AttachedPicture,
    /// Subtitles carried in the container.
    Subtitle,
    /// Anything else (timecode, metadata, attachments).
    Other,
}

/// The facts of a video stream.
#[derive(Debug, Clone, Serialize)]
pub struct VideoDetails {
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Sample aspect ratio `num:den`, `1:1` for square pixels.
    pub sample_aspect_ratio: String,
    /// Average frame rate in frames per second, when known.
    pub frame_rate: Option<f64>,
    /// The same rate as FFmpeg's exact fraction (`30000/1001`).
    pub frame_rate_fraction: Option<String>,
    /// Clockwise rotation a player applies, in degrees.
    pub rotation: u32,
    /// Field order: `progressive`, `interlaced-tff`, `interlaced-bff` or `unknown`.
    pub scan: &'static str,
    /// Pixel format name (`yuv420p`), when known.
    pub pixel_format: Option<String>,
}

/// The facts of an audio stream.
#[derive(Debug, Clone, Serialize)]
pub struct AudioDetails {
    /// Samples per second.
    pub sample_rate: u32,
    /// Number of channels.
    pub channels: u32,
    /// Channel layout as FFmpeg describes it (`stereo`, `5.1(side)`).
    pub layout: String,
}

/// Probes `path` under `policy`: opens it safely, checks it, and reports its streams and ladder.
///
/// A file the policy refuses gives an [`Error`] whose [`Error::is_rejection`] is true.
pub fn probe(path: &Path, policy: &InputPolicy) -> Result<ProbeReport, Error> {
    let mut source = open::open_source(path, policy)?;
    let input = &source.input;
    let streams: Vec<StreamReport> = input.streams().map(|stream| stream_report(&stream)).collect();

    let duration_seconds = (input.duration() != ffi::AV_NOPTS_VALUE && input.duration() > 0)
        .then(|| input.duration() as f64 / f64::from(ffi::AV_TIME_BASE));
    if let Some(seconds) = duration_seconds {
        if seconds > policy.max_duration.as_secs_f64() {
            return Err(Error::TooLong {
                path: path.to_owned(),
                seconds,
                limit_seconds: policy.max_duration.as_secs(),
            });
        }
    }

    let main_video = streams
        .iter()
        .find_map(|stream| match &stream.details {
            StreamDetails::Video(video) if video.width > 0 && video.height > 0 => Some((stream.index, video)),
            _ => None,
        })
        .ok_or_else(|| Error::NoVideo { path: path.to_owned() })?;
    let main_audio_stream = input.streams().best(media::Type::Audio).map(|stream| stream.index());
    let geometry = main_video.1.geometry();
    check_picture(path, &geometry, policy)?;
    let ladder = Ladder::for_source(&geometry);
    let bit_rate = u64::try_from(input.bit_rate()).ok().filter(|&rate| rate > 0);
    check_has_frames(path, &mut source.input, main_video.0)?;

    Ok(ProbeReport {
        path: path.to_owned(),
        container: source.sniffed.names.clone(),
        container_description: source.sniffed.description.clone(),
        size_bytes: source.size_bytes,
        duration_seconds,
        bit_rate,
        main_video_stream: main_video.0,
        main_audio_stream,
        ladder,
        streams,
    })
}

impl VideoDetails {
    /// The picture's geometry as the ladder sees it.
    pub fn geometry(&self) -> SourceGeometry {
        let sample_aspect = self
            .sample_aspect_ratio
            .split_once(':')
            .and_then(|(num, den)| Some((num.parse().ok()?, den.parse().ok()?)))
            .unwrap_or((1, 1));
        SourceGeometry { width: self.width, height: self.height, sample_aspect, rotation: self.rotation }
    }
}

/// Packets read looking for the main video stream's first one: far more than any real file puts before it.
const MAX_PACKETS_BEFORE_VIDEO: usize = 20_000;

/// Refuses a video stream that declares a picture but holds no frames (it would fail in the packager, every
/// attempt). Damage met on the way is left for the encoder to judge.
fn check_has_frames(path: &Path, input: &mut ffmpeg_next::format::context::Input, stream: usize) -> Result<(), Error> {
    for _ in 0..MAX_PACKETS_BEFORE_VIDEO {
        let mut packet = ffmpeg_next::Packet::empty();
        match packet.read(input) {
            Ok(()) if packet.stream() == stream => return Ok(()),
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => {
                return Err(Error::UnusablePicture {
                    path: path.to_owned(),
                    reason: format!("video stream {stream} declares a picture but holds no frames"),
                });
            }
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// The shortest displayed side a source may have: below it there is nothing to watch.
const MIN_SHORT_SIDE: f64 = 32.0;
/// The widest displayed aspect ratio accepted, either way (ultra-wide 32:9 is 3.6:1).
const MAX_ASPECT: f64 = 4.0;

/// Refuses a picture that cannot make a sensible ladder, at the probe, so that a job is rejected at once
/// instead of failing every attempt in the encoder or the packager.
fn check_picture(path: &Path, geometry: &SourceGeometry, policy: &InputPolicy) -> Result<(), Error> {
    let refuse = |reason: String| Err(Error::UnusablePicture { path: path.to_owned(), reason });
    let (width, height) = geometry.display_size();
    let (num, den) = geometry.sample_aspect;
    if !(width.is_finite() && height.is_finite()) || width <= 0.0 || height <= 0.0 {
        return refuse(format!(
            "the picture {}×{} with pixels {num}:{den} has no displayable size",
            geometry.width, geometry.height
        ));
    }
    if width.min(height) < MIN_SHORT_SIDE {
        return refuse(format!(
            "the picture is {}×{}: at least {MIN_SHORT_SIDE} pixels on its short side are needed",
            geometry.width, geometry.height
        ));
    }
    let aspect = width.max(height) / width.min(height);
    if aspect > MAX_ASPECT {
        return refuse(format!(
            "the picture {}×{} with pixels {num}:{den} is shown {:.0}×{:.0}, {aspect:.1} times as wide as high;              at most {MAX_ASPECT}:1 is accepted",
            geometry.width, geometry.height, width, height
        ));
    }
    if width.max(height) > f64::from(policy.max_side) {
        return refuse(format!(
            "the picture is shown {width:.0}×{height:.0}, larger than the {0}×{0} accepted",
            policy.max_side
        ));
    }
    Ok(())
}

/// Whether a video stream is cover art rather than a moving picture.
pub(crate) fn is_attached_picture(stream: &Stream) -> bool {
    stream.disposition().contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC)
}

fn stream_report(stream: &Stream) -> StreamReport {
    let parameters = stream.parameters();
    let details = match parameters.medium() {
        media::Type::Video if is_attached_picture(stream) => StreamDetails::AttachedPicture,
        media::Type::Video => StreamDetails::Video(video_details(stream)),
        media::Type::Audio => StreamDetails::Audio(audio_details(stream)),
        media::Type::Subtitle => StreamDetails::Subtitle,
        _ => StreamDetails::Other,
    };
    StreamReport {
        index: stream.index(),
        codec: parameters.id().name().to_owned(),
        language: stream.metadata().get("language").filter(|lang| *lang != "und").map(str::to_owned),
        details,
    }
}

fn video_details(stream: &Stream) -> VideoDetails {
    let parameters = stream.parameters();
    // SAFETY: the parameters belong to a stream of an open context and are only read.
    let raw = unsafe { &*parameters.as_ptr() };
    let rate = [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .find(|rate| rate.numerator() > 0 && rate.denominator() > 0);
    let sar = raw.sample_aspect_ratio;
    VideoDetails {
        width: u32::try_from(raw.width).unwrap_or(0),
        height: u32::try_from(raw.height).unwrap_or(0),
        sample_aspect_ratio: if sar.num > 0 && sar.den > 0 { format!("{}:{}", sar.num, sar.den) } else { "1:1".into() },
        frame_rate: rate.map(f64::from),
        frame_rate_fraction: rate.map(|rate: Rational| format!("{}/{}", rate.numerator(), rate.denominator())),
        rotation: rotation(stream),
        scan: match raw.field_order {
            ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE => "progressive",
            ffi::AVFieldOrder::AV_FIELD_TT | ffi::AVFieldOrder::AV_FIELD_TB => "interlaced-tff",
            ffi::AVFieldOrder::AV_FIELD_BB | ffi::AVFieldOrder::AV_FIELD_BT => "interlaced-bff",
            _ => "unknown",
        },
        pixel_format: pixel_format_name(raw.format),
    }
}

/// The clockwise rotation in the stream's display matrix, rounded to a quarter turn.
fn rotation(stream: &Stream) -> u32 {
    let Some(matrix) =
        stream.side_data().find(|data| data.kind() == ffmpeg_next::codec::packet::side_data::Type::DisplayMatrix)
    else {
        return 0;
    };
    let data = matrix.data();
    if data.len() < 9 * 4 {
        return 0;
    }
    let mut values = [0i32; 9];
    for (value, bytes) in values.iter_mut().zip(data.chunks_exact(4)) {
        *value = i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    // SAFETY: `values` is the 3×3 matrix FFmpeg expects, read from a correctly sized side data buffer.
    let counter_clockwise = unsafe { ffi::av_display_rotation_get(values.as_ptr()) };
    if !counter_clockwise.is_finite() {
        return 0;
    }
    let quarter_turns = (-counter_clockwise / 90.0).round() as i64;
    (quarter_turns.rem_euclid(4) * 90) as u32
}

fn pixel_format_name(format: i32) -> Option<String> {
    if !(0..ffi::AVPixelFormat::AV_PIX_FMT_NB as i32).contains(&format) {
        return None;
    }
    // SAFETY: the value lies in 0..AV_PIX_FMT_NB, and the enum's values are contiguous there (the bindings are
    // generated from the same header the library was built with).
    let name = unsafe { ffi::av_get_pix_fmt_name(std::mem::transmute::<i32, ffi::AVPixelFormat>(format)) };
    // SAFETY: a non-null name is a static C string.
    let name = unsafe { sniff::c_string(name) };
    (!name.is_empty()).then_some(name)
}

fn audio_details(stream: &Stream) -> AudioDetails {
    let parameters = stream.parameters();
    // SAFETY: the parameters belong to a stream of an open context and are only read.
    let raw = unsafe { &*parameters.as_ptr() };
    let mut description = [0 as std::ffi::c_char; 64];
    // SAFETY: the layout is part of the live parameters; the buffer is large enough and FFmpeg NUL-terminates
    // within the given size.
    let layout = unsafe {
        let written = ffi::av_channel_layout_describe(&raw.ch_layout, description.as_mut_ptr(), description.len());
        if written > 0 { sniff::c_string(description.as_ptr()) } else { String::new() }
    };
    AudioDetails {
        sample_rate: u32::try_from(raw.sample_rate).unwrap_or(0),
        channels: u32::try_from(raw.ch_layout.nb_channels).unwrap_or(0),
        layout,
    }
}
