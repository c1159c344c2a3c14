//! Writing one track as an fMP4 init segment and 4-second media segments.
//!
//! FFmpeg's HLS muxer does the cutting: it starts a new segment at the first keyframe at or after each
//! 4-second mark, and the video encoders put an IDR exactly there, so every rung is cut at the same instants.
//! The playlist it writes is deleted: the packager writes the published playlists from measured segments.

use std::path::{Path, PathBuf};

use ffmpeg_next::{Dictionary, Packet, Rational, codec, format};
use lms_packager::ladder::SEGMENT_SECONDS;

use crate::Error;
use crate::engine::EncodedTrack;

/// The playlist FFmpeg's muxer insists on writing; removed when the track is complete.
const SCRATCH_PLAYLIST: &str = "ffmpeg-scratch.m3u8";
/// Name of the init segment in each track folder.
pub(crate) const INIT_SEGMENT: &str = "init.mp4";

/// An open track: an HLS muxer with one stream.
pub(crate) struct SegmentWriter {
    output: format::context::Output,
    dir: PathBuf,
    encoder_time_base: Rational,
    stream_time_base: Rational,
}

impl SegmentWriter {
    /// Creates `dir` and a muxer whose one stream has the encoder's `parameters`.
    pub(crate) fn create(dir: &Path, parameters: codec::Parameters, time_base: Rational) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write { path: dir.to_owned(), source })?;
        let playlist = dir.join(SCRATCH_PLAYLIST);
        let mut output = format::output_as(&playlist, "hls")
            .map_err(|source| Error::Ffmpeg { step: "creating the segment muxer", source })?;
        {
            let mut stream = output
                .add_stream(codec::encoder::find(codec::Id::None))
                .map_err(|source| Error::Ffmpeg { step: "adding a stream to the segment muxer", source })?;
            stream.set_parameters(parameters);
            stream.set_time_base(time_base);
        }
        let mut options = Dictionary::new();
        options.set("hls_time", &SEGMENT_SECONDS.to_string());
        options.set("hls_segment_type", "fmp4");
        options.set("hls_playlist_type", "vod");
        options.set("hls_list_size", "0");
        options.set("hls_fmp4_init_filename", INIT_SEGMENT);
        options.set("hls_segment_filename", &dir.join("seg_%05d.m4s").to_string_lossy());
        output
            .write_header_with(options)
            .map_err(|source| Error::Ffmpeg { step: "starting the segment muxer", source })?;
        let stream_time_base = output.stream(0).map(|stream| stream.time_base()).unwrap_or(time_base);
        Ok(Self { output, dir: dir.to_owned(), encoder_time_base: time_base, stream_time_base })
    }

    /// Writes one encoded packet.
    pub(crate) fn write(&mut self, packet: &mut Packet) -> Result<(), Error> {
        packet.set_stream(0);
        packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
        packet.write_interleaved(&mut self.output).map_err(|source| Error::Ffmpeg { step: "writing a segment", source })
    }

    /// Closes the last segment and lists the track's files.
    pub(crate) fn finish(mut self) -> Result<EncodedTrack, Error> {
        self.output.write_trailer().map_err(|source| Error::Ffmpeg { step: "closing the last segment", source })?;
        let scratch = self.dir.join(SCRATCH_PLAYLIST);
        std::fs::remove_file(&scratch).map_err(|source| Error::Write { path: scratch, source })?;
        let mut segments: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|source| Error::Write { path: self.dir.clone(), source })?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "m4s"))
            .collect();
        // Zero-padded numbers: name order is time order.
        segments.sort();
        Ok(EncodedTrack { init: self.dir.join(INIT_SEGMENT), dir: self.dir, segments })
    }
}
