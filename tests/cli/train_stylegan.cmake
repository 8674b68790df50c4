# train_stylegan end to end (included from CMakeLists.txt; helpers in helpers.cmake).
# A tiny network trains on Fashion-MNIST for a few steps and writes its run
# folder; bad input ends with an error, not a crash.
set(_train $<TARGET_FILE:train_stylegan>)
set(_one_thread ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1)
gf_cli_test(train_stylegan_smoke FRESH ${GF_TEST_RUNS}/smoke
            EXPECT "Done: .*/smoke/00000-fashion-mnist-subset128-tiny-kimg0.032$" REJECT ${GF_NONFINITE} FIXTURES_SETUP trained_snapshot
            COMMAND ${_one_thread} ${_train} --cfg tiny --kimg 0.032 --tick 0.016 --snap 1 --max-images 128
                    --outdir ${GF_TEST_RUNS}/smoke)
# 4x4 images (binary PGMs): the loader takes them (PGAN, v1), StyleGAN2 says its smallest size.
gf_expect_error(train_stylegan2_4x4 "^train_stylegan: error: .*: images of 4x4; StyleGAN2 trains at 8x8 or more" ""
                sh -c "d=${GF_TEST_RUNS}/data4x4 && rm -rf $d && mkdir -p $d && for i in 0 1 2; do \
printf 'P5 4 4 255\\n0123456789abcdef' > $d/$i.pgm; done && exec ${_train} --data $d --outdir ${GF_TEST_RUNS}/bad")
# Images larger than --cfg's widths reach (tiny: 128x128) are one line naming
# --cfg and the data, in each trainer, before a run folder; it said
# "SynthesisNetwork: channel_base 128 gives no channels at 256x256".
gf_test(cpu.train_cfg_too_small_for_data
        COMMAND sh -c "d=${GF_TEST_RUNS}/data256 && rm -rf $d ${GF_TEST_RUNS}/cfg_small && mkdir -p $d && for i in 0 1; do \
{ printf 'P5 256 256 255\\n' && head -c 65536 /dev/zero; } > $d/$i.pgm; done && \
tail='give no channels above 128x128, but data256.s images are 256x256: choose a --cfg made for 256x256, or smaller images' && \
sh ${GF_CLI_DIR}/expect_error.sh \"^train_stylegan: error: --cfg tiny: its networks. widths \\(channel_base 128\\) $tail\" \
  ${_train} --cfg tiny --data $d --kimg 0 --outdir ${GF_TEST_RUNS}/cfg_small && \
sh ${GF_CLI_DIR}/expect_error.sh \"^train_stylegan: error: --cfg tiny: its networks. widths \\(fmap_base 64\\) $tail\" \
  ${_train} --arch stylegan --cfg tiny --data $d --kimg 0 --outdir ${GF_TEST_RUNS}/cfg_small && \
sh ${GF_CLI_DIR}/expect_error.sh \"^train_pggan: error: --cfg tiny: its networks. widths \\(fmap_base 64\\) $tail\" \
  $<TARGET_FILE:train_pggan> --cfg tiny --data $d --kimg 0 --outdir ${GF_TEST_RUNS}/cfg_small && \
test ! -e ${GF_TEST_RUNS}/cfg_small && echo refused in each trainer")
set_tests_properties(cpu.train_cfg_too_small_for_data PROPERTIES PASS_REGULAR_EXPRESSION "refused in each trainer")
gf_expect_error(train_stylegan_data_from_files_fashion_mnist
                "^train_stylegan: error: --data-from-files reads a folder's or zip's images from their files; Fashion-MNIST \\(no --data\\) is read whole: give --data, or leave it out$" ""
                ${_train} --data-from-files --cfg tiny --outdir ${GF_TEST_RUNS}/bad)
gf_expect_error(train_stylegan_bad_data "^train_stylegan: error: .*no-such-dataset" ""
                ${_train} --data ${CMAKE_BINARY_DIR}/no-such-dataset --outdir ${GF_TEST_RUNS}/bad)
# --resume: the smoke run's checkpoint continues in a new run folder, from its kimg.
gf_cli_test(train_stylegan_resume FRESH ${GF_TEST_RUNS}/resumed
            EXPECT "resumed from .*at kimg 0.032" "^tick 0 +kimg 0.0" "Done: .*/resumed/00000-fashion-mnist-subset128-tiny-kimg0.048-resumecustom$"
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED trained_snapshot FIXTURES_SETUP resumed_run
            COMMAND ${_one_thread} ${_train} --resume ${GF_SMOKE_RUN}/checkpoint.bin --cfg tiny --seed 0 --batch-gpu 0 --kimg 0.048 --tick 0.016
                    --snap 1 --max-images 128 --outdir ${GF_TEST_RUNS}/resumed)
gf_expect_error(train_stylegan_resume_conflicting_flag
                "^train_stylegan: error: --batch 8 differs from the run resumed from .*checkpoint.bin, which has 4: a resumed checkpoint keeps its settings \\(leave --batch out, or give 4\\)$" trained_snapshot
                ${_train} --resume ${GF_SMOKE_RUN}/checkpoint.bin --batch 8 --max-images 128
                --outdir ${GF_TEST_RUNS}/bad)
gf_expect_error(train_stylegan_resume_missing_file "^train_stylegan: error: .*no-such-checkpoint.bin" ""
                ${_train} --resume ${CMAKE_BINARY_DIR}/no-such-checkpoint.bin --max-images 16
                --outdir ${GF_TEST_RUNS}/bad)
# The resumed run ends where an uninterrupted run of the same length ends:
# its checkpoint (every weight, Adam moment, counter and the sampler) is the
# same file, byte for byte.
gf_cli_test(train_stylegan_straight FRESH ${GF_TEST_RUNS}/straight EXPECT "Done: " FIXTURES_SETUP straight_run
            COMMAND ${_one_thread} ${_train} --cfg tiny --kimg 0.048 --tick 0.016 --snap 1 --max-images 128
                    --outdir ${GF_TEST_RUNS}/straight)
gf_test(cpu.train_stylegan_resume_is_exact FIXTURES_REQUIRED "resumed_run;straight_run"
        COMMAND cmp ${GF_TEST_RUNS}/straight/00000-fashion-mnist-subset128-tiny-kimg0.048/checkpoint.bin
                ${GF_TEST_RUNS}/resumed/00000-fashion-mnist-subset128-tiny-kimg0.048-resumecustom/checkpoint.bin)
# checkpoint-tick.json keeps the checkpoint's tick's stats.jsonl line; a run
# killed after the checkpoint and before the line (the metrics run there)
# lost that tick from every later report. Here the line is taken out of the
# smoke run's stats.jsonl, and the resumed run's stats-earlier.jsonl has it
# back, byte for byte.
# README's list of train_stylegan's flags is the one --help prints (it lacked --classifiers).
gf_test(cpu.readme_train_stylegan_flags
        COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/readme_flag_list.py ${CMAKE_SOURCE_DIR}/README.md $<TARGET_FILE:train_stylegan>)
set_tests_properties(cpu.readme_train_stylegan_flags PROPERTIES PASS_REGULAR_EXPRESSION "^README flag list of train_stylegan: as --help")
gf_test(cpu.train_stylegan_checkpoint_tick_line FIXTURES_REQUIRED trained_snapshot
        COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/checkpoint_tick_line.py ${GF_SMOKE_RUN})
gf_cli_test(train_stylegan_resume_line_from_checkpoint FRESH ${GF_TEST_RUNS}/line_lost
            EXPECT "resumed from .*at kimg 0.032" "^line back$" FIXTURES_REQUIRED trained_snapshot
            COMMAND sh -c "d=${GF_TEST_RUNS}/line_lost && mkdir -p $d/killed && cp ${GF_SMOKE_RUN}/checkpoint.bin ${GF_SMOKE_RUN}/checkpoint-tick.json $d/killed/ && \
head -n -1 ${GF_SMOKE_RUN}/stats.jsonl > $d/killed/stats.jsonl && tail -n 1 ${GF_SMOKE_RUN}/stats.jsonl > $d/lost_line && \
OMP_NUM_THREADS=1 ${_train} --resume $d/killed/checkpoint.bin --kimg 0.032 --max-images 128 --outdir $d/runs && \
tail -n 1 $d/runs/00000-*/stats-earlier.jsonl | cmp - $d/lost_line && echo 'line back'")
# Data parallel: two CPU replicas (the arithmetic --gpus 2 runs on two GPUs),
# two passes of two images each; a batch the replicas do not divide is refused.
gf_cli_test(train_stylegan_data_parallel FRESH ${GF_TEST_RUNS}/parallel
            EXPECT "batch 8 \\(2 replicas x 2 passes of 2\\)" "^tick 1 " "Done: " REJECT ${GF_NONFINITE}
            COMMAND ${_one_thread} ${_train} --cfg tiny --gpus 2 --batch 8 --batch-gpu 2 --kimg 0.016 --tick 0.008
                    --snap 1 --max-images 64 --outdir ${GF_TEST_RUNS}/parallel)
gf_expect_error(train_stylegan_data_parallel_bad_batch
                "^train_stylegan: error: .*batch 4 must be divisible by the replica count 3" ""
                ${_train} --cfg tiny --gpus 3 --max-images 16 --outdir ${GF_TEST_RUNS}/bad)
# A given pass larger than the batch per replica was cut to it in silence.
gf_expect_error(train_stylegan_batch_gpu_over_replica
                "^train_stylegan: error: --batch-gpu 3 is more than the batch per replica, 1 \\(2 over 2 replicas\\)$" ""
                ${_train} --cfg tiny --gpus 2 --batch 2 --batch-gpu 3 --max-images 16 --outdir ${GF_TEST_RUNS}/bad)
# Draw logs: recording and replaying exclude each other; a recorded run writes
# one file per minibatch, and replaying them runs the same minibatches (the
# same losses) without a draw left over.
gf_expect_error(train_stylegan_record_and_replay "^train_stylegan: error: --record-draws and --replay-draws exclude each other" ""
                ${_train} --cfg tiny --max-images 16 --record-draws ${GF_TEST_RUNS}/bad/d --replay-draws ${GF_TEST_RUNS}/bad/d
                --outdir ${GF_TEST_RUNS}/bad)
# The OpenMP thread count changes no bit: the same run at 1 and at 3 threads
# (more than the CI machine's cores is fine) writes the same checkpoint and
# snapshot, so a checkpoint resumes on a machine with another core count.
gf_cli_test(train_stylegan_threads FRESH ${GF_TEST_RUNS}/threads EXPECT "^same bits at 1 and 3 threads$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/threads && mkdir -p $d && for t in 1 3; do \
OMP_NUM_THREADS=$t ${_train} --cfg tiny --kimg 0.016 --tick 0.008 --snap 1 --max-images 64 --outdir $d/t$t > $d/t$t.log \
|| exit 1; done && r=00000-fashion-mnist-subset64-tiny-kimg0.016 && cmp $d/t1/$r/checkpoint.bin $d/t3/$r/checkpoint.bin && \
cmp $d/t1/$r/network-snapshot-000000.bin $d/t3/$r/network-snapshot-000000.bin && echo 'same bits at 1 and 3 threads'")
# --data-from-files decodes each minibatch's images again, in parallel: the
# same run as with the pixels held, bit for bit (labels, x-flips, a zip).
gf_cli_test(train_stylegan_data_from_files FRESH ${GF_TEST_RUNS}/from_files EXPECT "^same bits held and from files$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/from_files && mkdir -p $d && for m in held files; do f=; \
if [ $m = files ]; then f=--data-from-files; fi; OMP_NUM_THREADS=2 ${_train} \
--data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --cond --mirror --cfg tiny --kimg 0.016 --tick 0.008 --snap 1 \
$f --outdir $d/$m > $d/$m.log || exit 1; done && cmp $d/held/*/checkpoint.bin $d/files/*/checkpoint.bin && \
cmp $d/held/*/network-snapshot-000000.bin $d/files/*/network-snapshot-000000.bin && echo 'same bits held and from files'")
gf_cli_test(train_stylegan_record_draws FRESH ${GF_TEST_RUNS}/draws EXPECT "Done: " FIXTURES_SETUP recorded_draws
            COMMAND sh -c "OMP_NUM_THREADS=1 ${_train} --cfg tiny --kimg 0.008 --tick 0.004 --snap 1 --max-images 64 \
--record-draws ${GF_TEST_RUNS}/draws/log --outdir ${GF_TEST_RUNS}/draws/recorded && \
test -s ${GF_TEST_RUNS}/draws/log/draws-mb000001.bin")
gf_cli_test(train_stylegan_replay_draws FIXTURES_REQUIRED recorded_draws EXPECT "Done: "
            COMMAND sh -c "OMP_NUM_THREADS=1 ${_train} --cfg tiny --kimg 0.008 --tick 0.004 --snap 1 --max-images 64 \
--replay-draws ${GF_TEST_RUNS}/draws/log --outdir ${GF_TEST_RUNS}/draws/replayed && \
d=${GF_TEST_RUNS}/draws && grep -o 'G [0-9.]* D [0-9.+]* r1 [0-9.]* pl [0-9.]*' $d/recorded/00000-fashion-mnist-subset64-tiny-kimg0.008/log.txt > $d/a && \
grep -o 'G [0-9.]* D [0-9.+]* r1 [0-9.]* pl [0-9.]*' $d/replayed/00000-fashion-mnist-subset64-tiny-kimg0.008/log.txt > $d/b && \
test -s $d/a && cmp $d/a $d/b")
# Freeze-D (official --freezed): a run started from the smoke run's snapshot
# with D's first two layers (b32.fromrgb, b32.conv0) frozen keeps them as the
# snapshot had them, while the next layer trains; the run is named and logged
# as frozen. A checkpoint's freeze cannot change, and v1 has none.
gf_cli_test(train_stylegan_freezed FRESH ${GF_TEST_RUNS}/freezed
            EXPECT "Freeze-D: its first 2 layers fixed" "Done: .*/freezed/00000-fashion-mnist-subset64-tiny-kimg0.016-resumecustom-freezed2$" "same_tensors: as expected"
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED trained_snapshot
            COMMAND sh -c "OMP_NUM_THREADS=1 ${_train} --resume ${GF_SMOKE_RUN}/network-snapshot-000000.bin \
--cfg tiny --freezed 2 --kimg 0.016 --tick 0.016 --snap 1 --max-images 64 --outdir ${GF_TEST_RUNS}/freezed && \
r=${GF_TEST_RUNS}/freezed/00000-fashion-mnist-subset64-tiny-kimg0.016-resumecustom-freezed2 && grep -q '\"freeze_layers\": 2' $r/training_options.json && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/same_tensors.py ${GF_SMOKE_RUN}/network-snapshot-000000.bin $r/network-snapshot-000000.bin \
--same D.b32.fromrgb.weight,D.b32.fromrgb.bias,D.b32.conv0.weight,D.b32.conv0.bias --differ D.b32.conv1.weight,D.b4.out.weight")
# A snapshot of another architecture than --cfg's: the networks come from the
# file, and training_options.json's spec says so (it said small's channels).
gf_cli_test(train_stylegan_resume_snapshot_spec FRESH ${GF_TEST_RUNS}/snapshot_spec EXPECT "^spec as G_kwargs$"
            REJECT ${GF_NONFINITE} FIXTURES_REQUIRED trained_snapshot
            COMMAND sh -c "OMP_NUM_THREADS=1 ${_train} --resume ${GF_SMOKE_RUN}/network-snapshot-000000.bin \
--cfg small --kimg 0.008 --tick 0.008 --snap 1 --max-images 64 --outdir ${GF_TEST_RUNS}/snapshot_spec && \
'${GF_PYTHON3}' -c \"import json, sys; o = json.load(open(sys.argv[1])); s, g = o['spec'], o['G_kwargs']; \
assert all(s[k] == g[k] for k in ('channel_base', 'channel_max', 'mapping_layers', 'z_dim', 'w_dim')), (s, g); print('spec as G_kwargs')\" \
${GF_TEST_RUNS}/snapshot_spec/00000-fashion-mnist-subset64-small-kimg0.008-resumecustom/training_options.json")
gf_expect_error(train_stylegan_freezed_checkpoint
                "^train_stylegan: error: --freezed 1 differs from the run resumed from .*checkpoint.bin, which has 0: " trained_snapshot
                ${_train} --resume ${GF_SMOKE_RUN}/checkpoint.bin --freezed 1 --max-images 16 --outdir ${GF_TEST_RUNS}/bad)
gf_expect_error(train_stylegan_freezed_v1 "^train_stylegan: error: --freezed is StyleGAN2-ADA's Freeze-D" ""
                ${_train} --arch stylegan --freezed 1 --max-images 16 --outdir ${GF_TEST_RUNS}/bad)
# --dry-run (official train.py's; given here as its short -n): the options
# and the summary, the run folder it would make (the next number in
# --outdir's folders, not its files), and nothing written. The image count
# is train.py's max_size, before --mirror's copies (it said 128).
gf_cli_test(train_stylegan_dry_run FRESH ${GF_TEST_RUNS}/dry
            EXPECT "^Training options:" "\"freeze_layers\": 1" "^Output directory: +.*/dry/runs/00003-fashion-mnist-subset64-mirror-tiny-freezed1$"
                   "^Number of images: +64$" "^Dry run; exiting.$"
            COMMAND sh -c "mkdir -p ${GF_TEST_RUNS}/dry/runs/00002-other && touch ${GF_TEST_RUNS}/dry/runs/00007-notes.txt && \
${_train} --cfg tiny --max-images 64 --mirror --freezed 1 \
-n --outdir ${GF_TEST_RUNS}/dry/runs && test \"$(ls ${GF_TEST_RUNS}/dry/runs)\" = \"$(printf '00002-other\\n00007-notes.txt')\"")
# A dry run builds no networks, as train.py's: 128 replicas at 1024 px (tens
# of GB of networks and Adam state, built before it printed) print their
# options under a 3 GB address space (they were killed, or refused, after
# minutes).
gf_cli_test(train_stylegan_dry_run_builds_no_networks FRESH ${GF_TEST_RUNS}/dry_big
            EXPECT "^Number of GPUs: +128$" "^Dry run; exiting.$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/dry_big && mkdir -p $d/data && '${GF_PYTHON3}' -c \"\
from PIL import Image; Image.new('RGB', (1024, 1024)).save('$d/data/a.png')\" && (ulimit -v 3000000 && \
OMP_NUM_THREADS=1 ${_train} --data $d/data --gpus 128 --dry-run --outdir $d/runs) && test ! -e $d/runs")
# ... but refuses what building them would (the batch over the replicas), as
# train.py's checks come before its dry-run exit ...
gf_expect_error(train_stylegan_dry_run_batch_over_replicas
                "^train_stylegan: error: config: batch 4 must be divisible by the replica count 3" ""
                ${_train} --cfg tiny --batch 4 --gpus 3 --dry-run --outdir ${GF_TEST_RUNS}/bad)
# ... and a draw log to replay must still open.
gf_expect_error(train_stylegan_dry_run_replay_missing "^train_stylegan: error: .*/no-draws: cannot open" ""
                ${_train} --cfg tiny --dry-run --replay-draws ${GF_TEST_RUNS}/no-draws --outdir ${GF_TEST_RUNS}/bad)
# A resumed checkpoint's run need not repeat its flags: the folder's name
# still shows the settings that differ from the cfg's (--gamma, --kimg,
# --aug) as train.py's desc shows the flags given, then -resumecustom.
gf_cli_test(train_stylegan_resume_run_name FRESH ${GF_TEST_RUNS}/resume_name
            EXPECT "^Output directory: +.*/resume_name/runs/00001-dataset_fixture-subset3-tiny-gamma5-kimg0-noaug-resumecustom$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/resume_name && data=${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip && \
OMP_NUM_THREADS=1 ${_train} --data $data --cfg tiny --kimg 0 --gamma 5 --aug noaug --max-images 3 --snap 1 \
--outdir $d/runs > /dev/null && ${_train} --resume $d/runs/00000-dataset_fixture-subset3-tiny-gamma5-kimg0-noaug/checkpoint.bin \
--data $data --max-images 3 --dry-run --outdir $d/runs")
# A data path whose bytes are not UTF-8 (Linux allows them): the options'
# JSON holds it with U+FFFD (engine/io/json_input.h); nlohmann's "invalid
# UTF-8 byte" exception ended the run (and calc_metrics after all its work)
# before.
gf_cli_test(train_stylegan_data_path_not_utf8 EXPECT "^Dry run; exiting.$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/not_utf8 && rm -rf $d && mkdir -p $d && n=$d/$(printf 'data\\377.zip') && \
cp ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip \"$n\" && ${_train} --cfg tiny --data \"$n\" --dry-run --outdir $d/runs | tail -n 1")
# A dataset name near 255 bytes: the run folder's name is cut to 255 or less (the run
# failed after reading the data, leaving an empty --outdir).
gf_cli_test(train_stylegan_long_dataset_name EXPECT "^254$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/long_name && rm -rf $d && mkdir -p $d && n=$d/$(printf 'a%.0s' $(seq 248)).zip && \
cp ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip $n && OMP_NUM_THREADS=1 ${_train} --cfg tiny --data $n --kimg 0.004 \
--snap 1 --outdir $d/runs >/dev/null && ls $d/runs | awk '{ print length($0) }'")
# Ctrl-C, SIGTERM, SIGHUP (a closed terminal or ssh session) or SIGPIPE (a
# closed pipe on stdout) in a run: its folder says how it ended (log.txt's
# last line, report.html "Stopped: ..." without reload or time left, the same
# from make_report) and the process still dies of the signal
# (tests/cli/stopped_run.sh). SIGHUP and SIGPIPE ended it silently before.
foreach(_sig INT TERM HUP PIPE)
  gf_test(cpu.train_stylegan_stopped_by_${_sig}
          COMMAND sh ${GF_CLI_DIR}/stopped_run.sh ${_train} $<TARGET_FILE:make_report> ${GF_TEST_RUNS}/stopped_${_sig} ${_sig})
  set_tests_properties(cpu.train_stylegan_stopped_by_${_sig} PROPERTIES TIMEOUT 400)
endforeach()
# A real closed pipe (`train_stylegan ... | head -c 300`): every later write
# raises SIGPIPE again, which is no second request to die at once; the run
# stops at the next step, says so, and exits 141.
gf_cli_test(train_stylegan_stdout_pipe_closed EXPECT "^rc=141 train_stylegan: error: Interrupted by SIGPIPE$"
            COMMAND sh -c "d=${GF_TEST_RUNS}/pipe_closed && rm -rf $d && mkdir -p $d && \
( OMP_NUM_THREADS=1 env --default-signal=PIPE ${_train} --cfg tiny --kimg 0.2 --tick 0.016 --snap 1 --max-images 128 --outdir $d 2>/dev/null; echo rc=$? > $d/rc ) | head -c 300 >/dev/null; \
test -z \"$(find $d -name '*.tmp')\" && echo $(cat $d/rc) $(tail -n 1 $d/00000-fashion-mnist-subset128-tiny-kimg0.2/log.txt)")
# --max-images picks train.py --subset's images (numpy's RandomState(--seed)
# shuffle), and a resumed checkpoint draws them with its own seed; it kept
# one subset whatever --seed was. More images than the data has is refused,
# as train.py refuses --subset past the dataset's size.
gf_test(cpu.train_stylegan_max_images_subset_is_numpys
        COMMAND ${_one_thread} ${GF_PYTHON3} ${GF_CLI_DIR}/max_images_subset.py ${_train} ${GF_TEST_RUNS}/subset)
set_tests_properties(cpu.train_stylegan_max_images_subset_is_numpys PROPERTIES PASS_REGULAR_EXPRESSION "the subset is numpy's")
gf_expect_error(train_stylegan_max_images_past_data "^train_stylegan: error: .*/tests/data/dataset_fixture.zip: --max-images 9999 is more than its [0-9]+ images$" ""
                ${_train} --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --max-images 9999 --outdir ${GF_TEST_RUNS}/bad)
# --cfg cifar trains train.py's cifar D: architecture 'orig' (it trained a 'resnet' D).
gf_cli_test(train_stylegan_cifar_d_is_orig EXPECT "\"D_kwargs\": {\n +\"architecture\": \"orig\""
            COMMAND ${_train} --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --cfg cifar --dry-run --outdir ${GF_TEST_RUNS}/cifar)
# A snapshot resumed under another --cfg: D's minibatch-stddev group is the
# config's (auto's 4 here), as the official resume builds D from the config
# and copies the weights in; it took the snapshot's run's (tiny's 2).
gf_cli_test(train_stylegan_resume_snapshot_mbstd_from_cfg EXPECT "\"mbstd_group_size\": 4," "\"mbstd_group\": 4,"
            FIXTURES_REQUIRED trained_snapshot
            COMMAND ${_train} --resume ${GF_SMOKE_RUN}/network-snapshot-000000.bin --cfg auto --max-images 128 --dry-run
                    --outdir ${GF_TEST_RUNS}/mbstd_cfg)
# train.py's flags with no counterpart here say what to do instead of "unknown option".
gf_expect_error(train_stylegan_official_subset "^train_stylegan: error: --subset is train.py's; here it is --max-images N" ""
                ${_train} --subset 4 --outdir ${GF_TEST_RUNS}/bad)
gf_expect_error(train_stylegan_official_workers "^train_stylegan: error: --workers sets train.py's DataLoader processes; .*: leave it out$" ""
                ${_train} --workers=3 --outdir ${GF_TEST_RUNS}/bad)
gf_expect_error(train_stylegan_official_resume_name
                "^train_stylegan: error: --resume ffhq256 is train.py's name for its pickle ffhq-res256-mirror-paper256-noaug.pkl; nothing is downloaded here" ""
                ${_train} --resume ffhq256 --outdir ${GF_TEST_RUNS}/bad)
# --resume noresume is train.py's "no resume".
gf_cli_test(train_stylegan_noresume EXPECT "\"resume\": \"\"," "Training options:"
            COMMAND ${_train} --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --resume noresume --dry-run --outdir ${GF_TEST_RUNS}/noresume)
# The last --resume wins, as click keeps an option's last value: a --resume X
# before --resume noresume is no resume (X was loaded), and noresume before
# --resume X resumes from X, its folder named -resumecustom alone.
gf_cli_test(train_stylegan_last_resume_wins EXPECT "\"resume\": \"\"," "Output directory: +.*-tiny-noresume$"
            "\"resume\": \".*parity_32x1.bin\"," "Output directory: +.*-tiny-resumecustom$"
            COMMAND sh -c "${_train} --cfg tiny --resume ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --resume noresume --dry-run \
--outdir ${GF_TEST_RUNS}/last_resume && ${_train} --cfg tiny --resume=noresume --resume ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin \
--dry-run --outdir ${GF_TEST_RUNS}/last_resume")
# A transfer --resume builds G and D with --cfg's conv_clamp (256), as
# train.py builds them before copying the pickle's weights in: a converted
# network without a clamp (parity_32x1.bin: null) trains clamped (it kept null).
gf_cli_test(train_stylegan_resume_takes_cfg_conv_clamp
            EXPECT "^    \"conv_clamp\": 256.0,$" "^    \"conv_clamp\": 256,$" REJECT "\"conv_clamp\": (null|0)"
            COMMAND ${_train} --cfg tiny --resume ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --dry-run --outdir ${GF_TEST_RUNS}/resume_clamp)
# --kimg and --tick end as the official `cur_nimg >= total_kimg * 1000`
# does, in floating point: --kimg 0.0085 at batch 4 trains to 12 images
# (it stopped at 8, short of the 8.5 asked for: the kimg was cut to whole images).
gf_cli_test(train_stylegan_fractional_kimg FRESH ${GF_TEST_RUNS}/fractional_kimg
            EXPECT "^tick 1 +kimg 0.0 .*" "Done: "
            COMMAND sh -c "OMP_NUM_THREADS=1 ${_train} --cfg tiny --kimg 0.0085 --tick 0.008 --max-images 32 \
--outdir ${GF_TEST_RUNS}/fractional_kimg && tail -n 1 ${GF_TEST_RUNS}/fractional_kimg/*/stats.jsonl | grep -q '\"kimg\":0.012,' && echo 'Done: 12 images'")
# Label vectors (the official loader's float32 labels): --cond trains on them
# as c itself (c_dim is their length), and a checkpoint resumes only on the
# same vectors.
gf_test(cpu.train_stylegan_label_vectors
        COMMAND sh -c "d=${GF_TEST_RUNS}/vectors && rm -rf $d && mkdir -p $d/data && for i in 0 1 2 3; do \
{ printf 'P5 8 8 255\\n' && head -c 64 /dev/urandom; } > $d/data/$i.pgm; done && \
printf '{\"labels\": [[\"0.pgm\", [0.5, -1, 2]], [\"1.pgm\", [1, 0, 0]], [\"2.pgm\", [0, 0.25, 0]], [\"3.pgm\", [3, 3, 3]]]}' > $d/data/dataset.json && \
OMP_NUM_THREADS=1 ${_train} --cfg tiny --data $d/data --cond --kimg 0.008 --snap 1 --outdir $d/runs > $d/log 2>&1 && \
grep -q '^Done: ' $d/log && ! grep -Eq '${GF_NONFINITE}' $d/log && grep -q '\"c_dim\": 3,' $d/runs/00000-data-cond-tiny-kimg0.008/training_options.json && \
printf '{\"labels\": [[\"0.pgm\", [0.5, -1, 2]], [\"1.pgm\", [1, 0, 0]], [\"2.pgm\", [0, 0.25, 0]], [\"3.pgm\", [3, 3, 3.5]]]}' > $d/data/dataset.json && \
sh ${GF_CLI_DIR}/expect_error.sh \"^train_stylegan: error: .*checkpoint.bin: made on dataset 'data' \\(4 images\\), but this run has 'data' \\(4 images, other labels\" \
  ${_train} --resume $d/runs/00000-data-cond-tiny-kimg0.008/checkpoint.bin --data $d/data --cond --kimg 0.012 --outdir $d/resumed && \
echo trained on label vectors")
set_tests_properties(cpu.train_stylegan_label_vectors PROPERTIES PASS_REGULAR_EXPRESSION "trained on label vectors")
# train.py's command lines as click reads them (a breaker's finds, each
# refused or misread before): a type=bool flag's word after a space
# (--mirror 1), click's INT with a sign and FLOAT with spaces, --metrics ''
# (no metric), a performance switch at its default (--fp32=0); and the run folder
# and the summary give a whole kimg of a million as train.py's int does
# (kimg1e+06, "1e+06 kimg" before).
# A --resume URL says nothing is downloaded (it was "No such file").
gf_test(cpu.train_stylegan_click_spellings
        COMMAND sh -c "d=${GF_TEST_RUNS}/click_spellings && rm -rf $d && \
${_train} --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --cfg tiny --dry-run --outdir $d \
--mirror 1 --cond 0 --batch +8 --gamma ' 10 ' --kimg 1000000 --metrics '' --fp32=0 --allow-tf32 false > $d.log && \
grep -q \"^Output directory: *$d/00000-dataset_fixture-mirror-tiny-gamma10-kimg1000000-batch8\$\" $d.log && \
grep -q '^Training duration: *1000000 kimg$' $d.log && \
sh ${GF_CLI_DIR}/expect_error.sh '^train_stylegan: error: https://example.org/ffhq.pkl: a URL, and nothing is downloaded here: ' \
  ${_train} --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --cfg tiny --dry-run --resume https://example.org/ffhq.pkl && \
echo click spellings read")
set_tests_properties(cpu.train_stylegan_click_spellings PROPERTIES PASS_REGULAR_EXPRESSION "click spellings read")
