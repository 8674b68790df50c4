# report.html (train/report.h) checked from outside by tests/test_report.py
# (included from CMakeLists.txt). Each test reports itself skipped (77) without
# /usr/bin/python3; the Chromium ones also without Debian's chromium
# (scripts/install_deps.sh --chromium; scripts/test.sh installs it).
set(GF_CHROMIUM /usr/bin/chromium CACHE FILEPATH "Headless Chromium, for the report page tests")
set(_report_py "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_report.py --make-report $<TARGET_FILE:make_report>")
# The pages that real runs leave: the smoke run's, and the run resumed from it
# (whose curves continue the first run's).
set(_report_runs "--run ${GF_SMOKE_RUN} ${GF_TEST_RUNS}/resumed/00000-fashion-mnist-subset128-tiny-kimg0.048-resumecustom")

# A made-up run folder with known statistics: structure, points, gaps, notes.
add_test(NAME cpu.report_page COMMAND sh -c "${_report_py}")
gf_test(cpu.report_training_runs FIXTURES_REQUIRED "trained_snapshot;resumed_run" COMMAND sh -c "${_report_py} ${_report_runs}")
# The same pages rendered by Chromium: not blank, every plot on screen, the
# curves where the data says.
add_test(NAME cpu.report_chromium COMMAND sh -c "${_report_py} --chromium '${GF_CHROMIUM}'")
gf_test(cpu.report_training_runs_chromium FIXTURES_REQUIRED "trained_snapshot;resumed_run"
        COMMAND sh -c "${_report_py} --chromium '${GF_CHROMIUM}' ${_report_runs}")
set_tests_properties(cpu.report_page cpu.report_chromium PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# PGGAN's runs (tests/cli/pggan.cmake) get the page from the same tick loop:
# the smoke run, and the run resumed from it inside the 8x8 fade (both in
# wiped folders, so their names are known).
set(_report_pggan_runs "--run ${CMAKE_BINARY_DIR}/test_pggan/runs/00000-fashion-mnist-pggan-tiny \
${CMAKE_BINARY_DIR}/test_pggan/resumed/00000-fashion-mnist-pggan-tiny")
gf_test(cpu.report_pggan_runs FIXTURES_REQUIRED "pggan_run;pggan_resumed" COMMAND sh -c "${_report_py} ${_report_pggan_runs}")

# make_report tries every folder: one that fails (an empty folder, a missing
# one) is one line on stderr, the others still get their page, and the exit
# status is 1 at the end (it stopped at the first failure, leaving b without a page).
set(_rp ${GF_TEST_RUNS}/make_report_each)
gf_test(cpu.make_report_every_folder
        COMMAND sh -c "rm -rf ${_rp} && mkdir -p ${_rp}/a ${_rp}/b && echo '{}' > ${_rp}/b/training_options.json && \
: > ${_rp}/b/stats.jsonl && $<TARGET_FILE:make_report> ${_rp}/a ${_rp}/b ${_rp}/c 2> ${_rp}/err.txt; rc=$?; cat ${_rp}/err.txt; \
[ $rc -eq 1 ] && [ -s ${_rp}/b/report.html ] && [ $(wc -l < ${_rp}/err.txt) -eq 2 ] && \
grep -q '^make_report: error: ${_rp}/a is not a run folder' ${_rp}/err.txt && \
grep -q '^make_report: error: ${_rp}/c: no such folder$' ${_rp}/err.txt")
# "--" ends the options, as for any Unix command: a folder named like an
# option after it gets its page (it was refused as an unknown option). A
# folder given with a trailing slash prints its page's path with one slash.
set(_rd ${GF_TEST_RUNS}/make_report_dashes)
gf_test(cpu.make_report_double_dash
        COMMAND sh -c "rm -rf ${_rd} && mkdir -p ${_rd}/--odd && echo '{}' > ${_rd}/--odd/training_options.json && \
: > ${_rd}/--odd/stats.jsonl && cd ${_rd} && $<TARGET_FILE:make_report> -- --odd && [ -s ${_rd}/--odd/report.html ] && \
[ \"$($<TARGET_FILE:make_report> -- --odd/)\" = --odd/report.html ] && \
! $<TARGET_FILE:make_report> --odd 2> err.txt && grep -q '^make_report: error: unknown option --odd (see --help)$' err.txt")
