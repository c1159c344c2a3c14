//! One-time FFmpeg set-up, shared by everything in this crate that calls FFmpeg.

use std::sync::Once;

/// Initialises FFmpeg once per process and silences its logger.
///
/// FFmpeg logs straight to standard error; a library must not print, and every failure it reports reaches
/// the caller as an [`crate::Error`] anyway.
pub(crate) fn ensure_initialised() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // `init` only registers components, which FFmpeg 5 does statically; it cannot fail there.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Quiet);
    });
}
