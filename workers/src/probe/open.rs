//! Opening an untrusted source with FFmpeg so that it can read this one file and nothing else.
//!
//! FFmpeg never sees a path: it reads through an I/O context backed by a file we opened, with a deadline on
//! every read. The demuxer is the one [`super::sniff`] chose and the policy accepted, forced so FFmpeg cannot
//! pick another; `format_whitelist` and `codec_whitelist` repeat the allowlists inside FFmpeg; and the format
//! context's `io_open` callback refuses every request, so no demuxer can follow a reference to another file or
//! URL (MOV data references, playlists, subtitles beside the file). The stream count, codecs and picture size
//! are checked between reading the header and decoding anything, and the decoders get a pixel limit, so an
//! oversized picture is refused before a frame is allocated.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::{Input, StreamIo};
use ffmpeg_next::{Dictionary, media};

use super::policy::{self, InputPolicy};
use super::sniff::{self, SNIFF_BYTES, Sniffed};
use crate::Error;

/// An FFmpeg demuxing context over an accepted source, with the facts learned while opening it.
pub(crate) struct OpenedSource {
    /// The demuxing context; stream information has been read.
    pub(crate) input: Input,
    /// The demuxer the bytes matched.
    pub(crate) sniffed: Sniffed,
    /// The file's size in bytes.
    pub(crate) size_bytes: u64,
}

/// Opens `path` under `policy`: every check that can be made before decoding is made first.
pub(crate) fn open_source(path: &Path, policy: &InputPolicy) -> Result<OpenedSource, Error> {
    crate::ffmpeg_setup::ensure_initialised();
    let deadline = Instant::now() + policy.read_timeout;
    let (mut file, size_bytes) = open_regular_file(path, policy)?;

    let head = read_head(&mut file).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    let sniffed = sniff::sniff(path, &head)?;
    if !policy::container_allowed(&sniffed.names) {
        return Err(Error::ContainerNotAllowed {
            path: path.to_owned(),
            container: sniffed.names.clone(),
            description: sniffed.description.clone(),
            accepted: policy::ALLOWED_CONTAINERS.join(", "),
        });
    }
    file.seek(SeekFrom::Start(0)).map_err(|source| Error::Read { path: path.to_owned(), source })?;

    // The deadline guards opening, where a crafted header can make a demuxer loop; once the streams are known
    // it is lifted, and a long encode is bounded by its process's time limit instead.
    let armed = Arc::new(AtomicBool::new(true));
    let reader = DeadlineReader { inner: file, deadline, armed: Arc::clone(&armed) };
    let io = StreamIo::from_read_seek(reader).map_err(|source| Error::Ffmpeg { step: "setting up I/O", source })?;
    let format_whitelist = policy::ALLOWED_CONTAINERS.join(",");
    let mut input = open_header(path, io, &sniffed, &format_whitelist, deadline, policy)?;
    check_declared_streams(path, &input, policy)?;
    read_stream_info(path, &mut input, deadline, policy)?;
    // Containers such as MPEG-TS only learn the picture size while decoding: check it again.
    check_declared_streams(path, &input, policy)?;
    armed.store(false, Ordering::Relaxed);
    Ok(OpenedSource { input, sniffed, size_bytes })
}

fn open_regular_file(path: &Path, policy: &InputPolicy) -> Result<(File, u64), Error> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| Error::Read { path: path.to_owned(), source })?;
    let metadata = file.metadata().map_err(|source| Error::Read { path: path.to_owned(), source })?;
    if !metadata.is_file() {
        return Err(Error::NotAFile { path: path.to_owned() });
    }
    if metadata.len() > policy.max_file_bytes {
        return Err(Error::FileTooLarge { path: path.to_owned(), size: metadata.len(), limit: policy.max_file_bytes });
    }
    Ok((file, metadata.len()))
}

fn read_head(file: &mut File) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The name FFmpeg is given for the source. It is never opened (the bytes come through our I/O context); it
/// only stands where demuxers that resolve relative references would look, and names no real place.
const SOURCE_URL: &std::ffi::CStr = c"untrusted-source";

/// FFmpeg's `io_open` callback for untrusted input: every nested open is refused.
unsafe extern "C" fn refuse_nested_open(
    _context: *mut ffi::AVFormatContext,
    _pb: *mut *mut ffi::AVIOContext,
    _url: *const std::ffi::c_char,
    _flags: std::ffi::c_int,
    _options: *mut *mut ffi::AVDictionary,
) -> std::ffi::c_int {
    ffi::AVERROR(libc::EPERM)
}

/// The most of the programme FFmpeg may read to learn the streams' parameters (see `open_header`).
const STREAM_INFO_SECONDS: u64 = 30;
/// The most bytes it may read for that.
const STREAM_INFO_BYTES: u64 = 64 << 20;

fn open_header(
    path: &Path,
    mut io: StreamIo,
    sniffed: &Sniffed,
    format_whitelist: &str,
    deadline: Instant,
    policy: &InputPolicy,
) -> Result<Input, Error> {
    let mut options = Dictionary::new();
    options.set("format_whitelist", format_whitelist);
    options.set("codec_whitelist", &policy::decoder_allowlist());
    // A protocol name no protocol has: even a default `io_open` could not open anything.
    options.set("protocol_whitelist", "none");
    // How far FFmpeg reads to learn every stream's parameters: its defaults (5 s, 5 MB) suit live streams,
    // and missed the picture's size in an MPEG-TS file that stores its sound 10 s ahead of its picture.
    // Reading stops as soon as every stream is known, so ordinary files read no more than before.
    options.set("analyzeduration", &STREAM_INFO_SECONDS.saturating_mul(1_000_000).to_string());
    options.set("probesize", &STREAM_INFO_BYTES.to_string());
    // SAFETY: `context` is freshly allocated and checked for null; FFmpeg frees it itself when
    // avformat_open_input fails. The I/O context stays owned by `io` until the format context is wrapped
    // (success) or `io` is dropped (failure), and AVFMT_FLAG_CUSTOM_IO tells FFmpeg not to free it. The
    // forced format is the static demuxer the sniffer returned.
    unsafe {
        let mut context = ffi::avformat_alloc_context();
        if context.is_null() {
            return Err(Error::Ffmpeg {
                step: "allocating a format context",
                source: ffmpeg_next::Error::Other { errno: libc::ENOMEM },
            });
        }
        (*context).pb = io.as_mut_ptr();
        (*context).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
        (*context).io_open = Some(refuse_nested_open);
        let mut raw_options = options.disown();
        let result = ffi::avformat_open_input(&mut context, SOURCE_URL.as_ptr(), sniffed.format, &mut raw_options);
        drop(Dictionary::own(raw_options));
        if result < 0 {
            return Err(read_failure(path, deadline, policy, "read the container header", result));
        }
        Ok(Input::wrap_with_custom_io(context, io))
    }
}

fn read_stream_info(path: &Path, input: &mut Input, deadline: Instant, policy: &InputPolicy) -> Result<(), Error> {
    let stream_count = input.streams().count();
    let max_pixels = u64::from(policy.max_side) * u64::from(policy.max_side);
    // One option set per stream: the decoders opened to learn the streams' parameters refuse larger pictures.
    let mut per_stream: Vec<*mut ffi::AVDictionary> = (0..stream_count)
        .map(|_| {
            let mut options = Dictionary::new();
            options.set("max_pixels", &max_pixels.to_string());
            // SAFETY: ownership passes to `per_stream`, which hands every entry back to a `Dictionary` below.
            unsafe { options.disown() }
        })
        .collect();
    // SAFETY: the context is open; `per_stream` holds one dictionary per stream as FFmpeg requires, and each
    // is handed back to a `Dictionary` to be freed after the call.
    let result = unsafe {
        let result = ffi::avformat_find_stream_info(input.as_mut_ptr(), per_stream.as_mut_ptr());
        for options in per_stream {
            drop(Dictionary::own(options));
        }
        result
    };
    if result < 0 {
        return Err(read_failure(path, deadline, policy, "read the streams", result));
    }
    Ok(())
}

fn read_failure(path: &Path, deadline: Instant, policy: &InputPolicy, step: &'static str, code: i32) -> Error {
    if Instant::now() >= deadline {
        return Error::TimedOut { path: path.to_owned(), seconds: policy.read_timeout.as_secs() };
    }
    Error::Damaged { path: path.to_owned(), step, source: ffmpeg_next::Error::from(code) }
}

/// Checks what the container declares: how many streams, which codecs, how large a picture.
fn check_declared_streams(path: &Path, input: &Input, policy: &InputPolicy) -> Result<(), Error> {
    let count = input.streams().count();
    if count > policy.max_streams {
        return Err(Error::TooManyStreams { path: path.to_owned(), count, limit: policy.max_streams });
    }
    for stream in input.streams() {
        let parameters = stream.parameters();
        let codec = parameters.id().name().to_owned();
        match parameters.medium() {
            media::Type::Video if !super::is_attached_picture(&stream) => {
                if !policy::codec_allowed(policy::ALLOWED_VIDEO_CODECS, &codec) {
                    return Err(Error::CodecNotAllowed {
                        path: path.to_owned(),
                        stream: stream.index(),
                        kind: "video",
                        codec,
                        accepted: policy::codec_names(policy::ALLOWED_VIDEO_CODECS),
                    });
                }
                // SAFETY: the parameters belong to a stream of the open context.
                let (width, height) = unsafe {
                    let raw = &*parameters.as_ptr();
                    (u32::try_from(raw.width).unwrap_or(0), u32::try_from(raw.height).unwrap_or(0))
                };
                if width > policy.max_side || height > policy.max_side {
                    return Err(Error::PictureTooLarge {
                        path: path.to_owned(),
                        stream: stream.index(),
                        width,
                        height,
                        max_side: policy.max_side,
                    });
                }
            }
            media::Type::Audio if !policy::codec_allowed(policy::ALLOWED_AUDIO_CODECS, &codec) => {
                return Err(Error::CodecNotAllowed {
                    path: path.to_owned(),
                    stream: stream.index(),
                    kind: "audio",
                    codec,
                    accepted: policy::codec_names(policy::ALLOWED_AUDIO_CODECS),
                });
            }
            // Subtitle, data and attachment streams are never decoded by us: they are listed, not judged.
            _ => {}
        }
    }
    Ok(())
}

/// A file reader that fails every read and seek once its deadline has passed (while armed), so a demuxer
/// that loops over a crafted file stops with an error instead of holding the worker.
struct DeadlineReader {
    inner: File,
    deadline: Instant,
    armed: Arc<AtomicBool>,
}

impl DeadlineReader {
    fn check_deadline(&self) -> io::Result<()> {
        if self.armed.load(Ordering::Relaxed) && Instant::now() >= self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "read time limit reached"));
        }
        Ok(())
    }
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check_deadline()?;
        self.inner.read(buf)
    }
}

impl Seek for DeadlineReader {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.check_deadline()?;
        self.inner.seek(position)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use super::*;

    /// Regression: the read deadline guards opening only. An encode reads packets for as long as the
    /// programme takes (once a 10-minute lecture failed 30 s in, with "Connection timed out").
    #[test]
    fn packets_can_be_read_after_the_open_deadline_has_passed() {
        let fixtures = std::env::var_os("LMS_MEDIA_FIXTURES").map(std::path::PathBuf::from).unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lms-media/fixtures")
        });
        let path = fixtures.join("small-360p.mp4");
        assert!(path.is_file(), "fixture {} is missing: run scripts/fixtures first", path.display());
        let policy = InputPolicy { read_timeout: std::time::Duration::from_secs(2), ..InputPolicy::default() };
        let mut source = open_source(&path, &policy).expect("the fixture opens");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let mut packet = ffmpeg_next::Packet::empty();
        let mut packets = 0;
        loop {
            match packet.read(&mut source.input) {
                Ok(()) => packets += 1,
                Err(ffmpeg_next::Error::Eof) => break,
                Err(error) => panic!("reading after the deadline failed: {error}"),
            }
        }
        assert!(packets > 100, "only {packets} packets");
    }

    /// The sniffer already refuses playlists; this proves the layer under it holds on its own. FFmpeg's HLS
    /// demuxer is forced on a playlist and allowed by the format whitelist, so only the refused `io_open`
    /// (and the empty protocol whitelist) stand between it and the canary socket and the other file.
    #[test]
    fn forced_hls_demuxer_cannot_open_what_a_playlist_names() {
        crate::ffmpeg_setup::ensure_initialised();
        let canary = TcpListener::bind("127.0.0.1:0").expect("canary socket");
        canary.set_nonblocking(true).expect("non-blocking canary");
        let port = canary.local_addr().expect("canary address").port();
        let mut playlist = tempfile::NamedTempFile::new().expect("temp file");
        write!(
            playlist,
            // Only an http entry: FFmpeg's HLS demuxer refuses a whole playlist on its own when an entry has
            // an unusual extension (file:///etc/passwd), which would let this test pass for the wrong reason.
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nhttp://127.0.0.1:{port}/a.ts\n#EXT-X-ENDLIST\n"
        )
        .expect("playlist written");

        // SAFETY: av_find_input_format takes a NUL-terminated name and returns a static demuxer or null.
        let format = unsafe { ffi::av_find_input_format(c"hls".as_ptr()) };
        assert!(!format.is_null(), "this FFmpeg has an HLS demuxer");
        let sniffed = Sniffed { format, names: "hls".into(), description: String::new() };
        let policy = InputPolicy::default();
        let deadline = Instant::now() + policy.read_timeout;
        let file = File::open(playlist.path()).expect("playlist opens");
        let reader = DeadlineReader { inner: file, deadline, armed: Arc::new(AtomicBool::new(true)) };
        let io = StreamIo::from_read_seek(reader).expect("I/O context");

        // Run on a thread with a limit: a demuxer that did connect would wait for an answer forever.
        let path = playlist.path().to_owned();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let refused = open_header(&path, io, &sniffed, "hls", deadline, &policy).is_err();
            let _ = sender.send(refused);
        });
        let refused = receiver.recv_timeout(std::time::Duration::from_secs(20)).expect("the open returns promptly");
        assert!(refused, "the HLS demuxer opened a playlist whose only entry is out of reach");
        match canary.accept() {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!("the demuxer connected to the canary socket: {other:?}"),
        }
    }
}
