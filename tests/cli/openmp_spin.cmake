# The programs run with a short libgomp spin unless the user chose one
# (kernels/openmp_spin.h): with two threads and neither GOMP_SPINCOUNT nor
# OMP_WAIT_POLICY set, the program executes itself again with
# GOMP_SPINCOUNT=2000; a user's GOMP_SPINCOUNT or OMP_WAIT_POLICY, or a single
# thread, leaves the environment alone. bench_networks reports what it ran with.
set(_bn $<TARGET_FILE:bench_networks> --train tiny --setup)
gf_cli_test(openmp_spin_short_by_default EXPECT [["gomp_spincount":"2000"]]
            COMMAND env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY OMP_NUM_THREADS=2 ${_bn})
gf_cli_test(openmp_spin_user_value_kept EXPECT [["gomp_spincount":"12345"]]
            COMMAND env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=12345 OMP_NUM_THREADS=2 ${_bn})
gf_cli_test(openmp_spin_wait_policy_kept EXPECT [["gomp_spincount":""]]
            COMMAND env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 ${_bn})
gf_cli_test(openmp_spin_one_thread_untouched EXPECT [["gomp_spincount":""]]
            COMMAND env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY OMP_NUM_THREADS=1 ${_bn})
# The programs on the shared entry (train/run_main.h run_main) re-execute with
# their arguments intact: a flag error still names the bad value.
gf_cli_test(openmp_spin_reexec_keeps_arguments EXPECT "--kimg .*got '-3'"
            COMMAND sh -c "! env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY OMP_NUM_THREADS=2 $<TARGET_FILE:train_stylegan> --kimg -3 --outdir /nonexistent")
