#!/bin/sh
# Stands in for ffmpeg in tests/cli/projector.cmake: records its arguments
# (one a line) in $FAKE_FFMPEG_LOG and the number of bytes it was fed in
# $FAKE_FFMPEG_LOG.bytes, then writes a small file at its last argument, the
# output, as ffmpeg would. FAKE_FFMPEG_EXIT makes it fail with that status.
printf '%s\n' "$@" > "$FAKE_FFMPEG_LOG"
wc -c | tr -d ' ' > "$FAKE_FFMPEG_LOG.bytes"
for a in "$@"; do out=$a; done
printf 'fake mp4\n' > "$out"
exit "${FAKE_FFMPEG_EXIT:-0}"
