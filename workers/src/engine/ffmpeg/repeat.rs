//! Repeated pictures: a frame whose picture is the same as the one before it.
//!
//! Slide lectures are mostly still pictures: the decoder outputs the same slide for seconds at a time, and
//! the constant-rate filter repeats frames of variable-rate sources. Scaling such a frame again for every rung
//! gives the same pixels as last time, so each rung reuses its previous scaled picture instead (a reference,
//! no copy). x264 still receives every frame, so the encode is unchanged. The comparison is made once per
//! frame, on the engine's thread, and stops at the first differing row: on camera footage, where every
//! frame differs, it costs almost nothing.

use ffmpeg_next::frame;

/// Remembers the last frame to tell whether the next one repeats it.
#[derive(Default)]
pub(crate) struct RepeatDetector {
    previous: Option<frame::Video>,
}

impl RepeatDetector {
    /// Whether `frame` shows the same picture as the frame seen before it; remembers `frame` (by reference).
    pub(crate) fn is_repeat(&mut self, frame: &frame::Video, reference: frame::Video) -> bool {
        let repeat = self.previous.as_ref().is_some_and(|previous| same_picture(previous, frame));
        self.previous = Some(reference);
        repeat
    }
}

/// Same size, format and pixels (row by row, ignoring the padding at the end of each row).
pub(crate) fn same_picture(a: &frame::Video, b: &frame::Video) -> bool {
    if a.width() != b.width() || a.height() != b.height() || a.format() != b.format() || a.planes() != b.planes() {
        return false;
    }
    let format: ffmpeg_next::ffi::AVPixelFormat = a.format().into();
    (0..a.planes()).all(|plane| {
        // SAFETY: a pure function of the pixel format and width.
        let row_bytes = unsafe { ffmpeg_next::ffi::av_image_get_linesize(format, a.width() as i32, plane as i32) };
        let Ok(row_bytes) = usize::try_from(row_bytes) else { return false };
        let (a_data, b_data) = (a.data(plane), b.data(plane));
        if a_data.as_ptr() == b_data.as_ptr() && a.stride(plane) == b.stride(plane) {
            // The same buffer: the frame-rate filter repeated the frame.
            return true;
        }
        let rows = a.plane_height(plane) as usize;
        (0..rows).all(|row| {
            let a_row = a_data.get(row * a.stride(plane)..row * a.stride(plane) + row_bytes);
            let b_row = b_data.get(row * b.stride(plane)..row * b.stride(plane) + row_bytes);
            matches!((a_row, b_row), (Some(x), Some(y)) if x == y)
        })
    })
}

#[cfg(test)]
mod tests {
    use ffmpeg_next::format::Pixel;

    use super::*;

    fn picture(width: u32, height: u32, shade: u8) -> frame::Video {
        crate::ffmpeg_setup::ensure_initialised();
        let mut picture = frame::Video::new(Pixel::YUV420P, width, height);
        for plane in 0..picture.planes() {
            picture.data_mut(plane).fill(shade);
        }
        picture
    }

    #[test]
    fn equal_pixels_repeat_and_one_changed_pixel_does_not() {
        let a = picture(64, 36, 90);
        let b = picture(64, 36, 90);
        assert!(same_picture(&a, &b));
        let mut c = picture(64, 36, 90);
        let stride = c.stride(2);
        c.data_mut(2)[17 * stride + 31] = 91;
        assert!(!same_picture(&a, &c), "a changed chroma pixel");
        assert!(!same_picture(&a, &picture(64, 38, 90)), "another size");
    }

    #[test]
    fn padding_at_the_end_of_rows_is_ignored() {
        let a = picture(30, 20, 7);
        let mut b = picture(30, 20, 7);
        if b.stride(0) > 30 {
            b.data_mut(0)[30] = 200;
        }
        assert!(same_picture(&a, &b));
    }
}
