# Filesystem faults (tests/cli/io_faults.sh): a folder the user may not write,
# a file or folder it may not read (run as nobody through setpriv), and a full
# disk (a small tmpfs in a private mount namespace), for the trainers,
# generate, discriminate, export_weights, psp and make_report: one line naming the path and the
# cause, exit status 1, no temporary left. Skipped (77) when not root.
gf_test(cpu.io_faults FIXTURES_REQUIRED trained_snapshot
        COMMAND ${GF_CLI_DIR}/io_faults.sh $<TARGET_FILE_DIR:generate> ${GF_SMOKE_RUN}/network-snapshot-000000.bin
                ${CMAKE_SOURCE_DIR}/tests/data)
set_tests_properties(cpu.io_faults PROPERTIES PASS_REGULAR_EXPRESSION "psp_encode_disk_full: ok" FAIL_REGULAR_EXPRESSION "FAILED")
