# Filesystem faults (tests/cli/io_faults.sh): a folder the user may not write,
# a file or folder it may not read (as root, run as nobody through setpriv; as
# another user, as that user on files chmod keeps it out of), and a full disk
# (a small tmpfs in a private mount namespace; as another user than root, in a
# user namespace, unshare -rm), for the trainers, generate, discriminate,
# export_weights, psp and make_report: one line naming the path and the cause,
# exit status 1, no temporary left. As root, skipped (77) without mount
# namespaces; as another user, the full-disk cases alone are skipped, and said,
# where user namespaces are not allowed.
gf_test(cpu.io_faults FIXTURES_REQUIRED trained_snapshot
        COMMAND ${GF_CLI_DIR}/io_faults.sh $<TARGET_FILE_DIR:generate> ${GF_SMOKE_RUN}/network-snapshot-000000.bin
                ${CMAKE_SOURCE_DIR}/tests/data)
set_tests_properties(cpu.io_faults PROPERTIES PASS_REGULAR_EXPRESSION
                     "psp_encode_disk_full: ok|the full-disk cases: skipped" FAIL_REGULAR_EXPRESSION "FAILED")
# A file-size limit (ulimit -f): the write fails with EFBIG and is reported
# and cleaned up as any failed write (SIGXFSZ killed the process silently,
# its checkpoint's temporary left in the run folder).
gf_test(cpu.file_size_limit
        COMMAND sh -c "d=${GF_TEST_RUNS}/fsize && rm -rf $d && mkdir -p $d && \
(ulimit -f 300; OMP_NUM_THREADS=1 exec $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0 --max-images 16 --outdir $d/runs) > $d/log 2>&1; \
rc=$?; tail -n 1 $d/log; test $rc -eq 1 && test -z \"$(find $d/runs -name '*.tmp*')\" && echo cleaned up")
set_tests_properties(cpu.file_size_limit PROPERTIES PASS_REGULAR_EXPRESSION
                     "^train_stylegan: error: cannot write .*/fsize/runs/.*: File too large\ncleaned up")
# Standard output that cannot be written (a full disk behind it) is an error,
# not exit 0 with the output lost (calc_metrics prints its result there).
gf_test(cpu.stdout_full
        COMMAND sh -c "for p in generate calc_metrics train_stylegan; do $<TARGET_FILE_DIR:generate>/$p --help > /dev/full; echo \"$p status $?\"; done")
set_tests_properties(cpu.stdout_full PROPERTIES PASS_REGULAR_EXPRESSION
                     "generate: error: cannot write to standard output: No space left on device\n.*generate status 1\n.*calc_metrics status 1\n.*train_stylegan status 1")
