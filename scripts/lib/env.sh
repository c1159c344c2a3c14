# Sourced by the scripts: where builds, tools and fixtures live. Everything stays outside the clone, so a
# fresh clone reuses earlier builds and CI's runs stay warm.
export LMS_MEDIA_CACHE=${LMS_MEDIA_CACHE:-$HOME/.cache/lms-media}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$LMS_MEDIA_CACHE/target}
export LMS_MEDIA_FIXTURES=${LMS_MEDIA_FIXTURES:-$LMS_MEDIA_CACHE/fixtures}
export PATH=$LMS_MEDIA_CACHE/tools/bin:$HOME/.cargo/bin:$PATH
# Run privileged steps directly as root, through sudo otherwise.
if [[ $(id -u) == 0 ]]; then as_root() { "$@"; }; else as_root() { sudo "$@"; }; fi
