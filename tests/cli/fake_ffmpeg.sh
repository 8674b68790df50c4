#!/bin/sh
# Stands in for ffmpeg in tests/cli/projector.cmake: records its arguments
# (one a line) in $FAKE_FFMPEG_LOG and the number of bytes it was fed in
# $FAKE_FFMPEG_LOG.bytes, then writes a small file at its last argument, the
# output (a file: URL: the path after "file:"), as ffmpeg would. FAKE_FFMPEG_EXIT makes it fail with that status.
# FAKE_FFMPEG_HANG=1: writes the output at once, its process id to
# $FAKE_FFMPEG_LOG.pid, and then sleeps without reading (a slow encoder), for
# a test to interrupt the projector mid-video. FAKE_FFMPEG_DUMP=FILE: the
# frames' bytes are kept there (their count still goes to .bytes).
# FAKE_FFMPEG_NO_READ=1: writes a partial output and exits 0 without reading
# the frames (an encoder that gave up without saying so).
printf '%s\n' "$@" > "$FAKE_FFMPEG_LOG"
for a in "$@"; do out=$a; done
case $out in
  file:*) out=${out#file:} ;;
  *) echo "fake ffmpeg: the output is not a file: URL: $out" >&2; exit 1 ;;
esac
if [ -n "${FAKE_FFMPEG_NO_READ:-}" ]; then
  printf 'partial mp4\n' > "$out"
  exit 0
fi
if [ -n "${FAKE_FFMPEG_HANG:-}" ]; then
  printf 'partial mp4\n' > "$out"
  echo $$ > "$FAKE_FFMPEG_LOG.pid.tmp" && mv "$FAKE_FFMPEG_LOG.pid.tmp" "$FAKE_FFMPEG_LOG.pid"
  exec sleep 60
fi
if [ -n "${FAKE_FFMPEG_DUMP:-}" ]; then
  cat > "$FAKE_FFMPEG_DUMP"
  wc -c < "$FAKE_FFMPEG_DUMP" | tr -d ' ' > "$FAKE_FFMPEG_LOG.bytes"
else
  wc -c | tr -d ' ' > "$FAKE_FFMPEG_LOG.bytes"
fi
printf 'fake mp4\n' > "$out"
exit "${FAKE_FFMPEG_EXIT:-0}"
