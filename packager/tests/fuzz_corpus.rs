//! Replays the fuzz seed corpus (`packager/fuzz/corpus/<target>/`) through the same entry points as the
//! cargo-fuzz targets, plus deterministic mutations of every seed (each truncation, byte flips), so the
//! normal test run catches a panic in a reader of untrusted input without nightly or libFuzzer.

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use std::path::PathBuf;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// Runs `entry` on each seed, every prefix of it, and copies with single bytes replaced.
fn replay(target: &str, entry: fn(&[u8]), flip_stride: usize) {
    for (name, seed) in seeds(target) {
        let run = |data: &[u8], what: &str| {
            if std::panic::catch_unwind(|| entry(data)).is_err() {
                panic!("{target} panicked on {what} of {name}");
            }
        };
        run(&seed, "the seed");
        for len in 0..seed.len() {
            run(&seed[..len], &format!("the first {len} bytes"));
        }
        for position in (0..seed.len()).step_by(flip_stride) {
            for value in [0x00, 0xff, b'\n', b'-', b'9'] {
                let mut mutated = seed.clone();
                mutated[position] = value;
                run(&mutated, &format!("byte {position} set to {value:#x}"));
            }
        }
    }
}

#[test]
fn subtitle_corpus_never_panics() {
    replay("subtitles", lms_packager::fuzz::subtitles, 1);
}

#[test]
fn playlist_corpus_never_panics() {
    replay("playlist", lms_packager::fuzz::playlist, 1);
}

#[test]
fn mp4_corpus_never_panics() {
    // Binary seeds are larger: flipping every 7th byte keeps the run short; truncations cover every length.
    replay("mp4", lms_packager::fuzz::mp4, 7);
}
