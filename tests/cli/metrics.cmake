# The metrics programs end to end (included from CMakeLists.txt): a stand-in
# for the official detector (tools/fixtures/make_inception_standin.py: the reference
# network with hashed weights, written by torch.jit.save as the official
# inception-2015-12-05.pt is) converted by tools/convert_weights.py, then
# train_stylegan --metrics and calc_metrics on its snapshot. The stand-in's
# FID means nothing; what is checked is that the converted file loads, every
# snapshot gets its jsonl lines, and calc_metrics on a snapshot reproduces
# the training run's value bit for bit (same latents, same images).
set(_m ${GF_TEST_RUNS}/metrics)
set(_m_run ${_m}/train/00000-fashion-mnist-subset64-tiny-kimg0.008)
set(_m_flags --metrics-cache ${_m}/cache --metric-items 16)
string(REPLACE ";" " " _m_flags_sh "${_m_flags}")  # inside sh -c strings
gf_test(cpu.metrics_detector FIXTURES_SETUP metrics_detector
        COMMAND sh -c "rm -rf ${_m}/inception.bin ${_m}/standin.pt ${_m}/cache && mkdir -p ${_m} && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/fixtures/make_inception_standin.py ${_m}/standin.pt && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import ${_m}/standin.pt ${_m}/inception.bin && \
rm ${_m}/standin.pt")

gf_cli_test(train_stylegan_metrics FRESH ${_m}/train
            EXPECT "^Evaluating metrics" "^\\{\"results\": \\{\"fid50k_full\": [0-9.e+]+\\}, \"metric\": \"fid50k_full\", \"total_time\": .*, \"num_gpus\": 1, \"snapshot_pkl\": \"network-snapshot-000000.bin\", \"timestamp\": [0-9.]+, \"num_gen\": 16, \"num_real\": 16\\}$"
                   "\"is50k_mean\"" "items from the cache" "Done: "
            REJECT ${GF_NONFINITE} "NaN|null,|Infinity" FIXTURES_REQUIRED metrics_detector FIXTURES_SETUP metrics_run
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0.008
                    --tick 0.004 --snap 1 --max-images 64 --metrics fid50k_full,is50k
                    --detector ${_m}/inception.bin ${_m_flags} --outdir ${_m}/train)
# One jsonl line per snapshot (tick 0 and the end: two), each naming its
# snapshot; the same ticks' stats.jsonl lines hold the results, and
# report.html draws them.
# Set up before calc_metrics appends its line.
gf_test(cpu.train_stylegan_metrics_jsonl FIXTURES_REQUIRED metrics_run FIXTURES_SETUP metrics_jsonl
        COMMAND sh -c "test $(grep -c '\"snapshot_pkl\": \"network-snapshot-000000.bin\"' ${_m_run}/metric-fid50k_full.jsonl) -eq 2 && \
test $(grep -c '\"is50k_std\"' ${_m_run}/metric-is50k.jsonl) -eq 2 && \
grep -A1 '\"metrics\": \\[' ${_m_run}/training_options.json | grep -q fid50k_full && \
test $(grep -c '\"fid50k_full\":[0-9]' ${_m_run}/stats.jsonl) -eq 2 && \
test $(grep -c '\"is50k_mean\":[0-9]' ${_m_run}/stats.jsonl) -eq 2 && \
grep -q 'FID (lower is better)' ${_m_run}/report.html")
# checkpoint-tick.json holds the checkpoint's tick's line as it stood before
# the metrics: stats.jsonl's adds fid50k_full and is50k.
gf_test(cpu.train_stylegan_metrics_checkpoint_tick_line FIXTURES_REQUIRED metrics_run
        COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/checkpoint_tick_line.py ${_m_run} fid50k_full is50k_mean)
# calc_metrics finds the dataset through the run folder, appends to its jsonl,
# and its value is the training run's last one, bit for bit.
gf_test(cpu.calc_metrics_matches_training FIXTURES_REQUIRED "metrics_run;metrics_jsonl"
        COMMAND sh -c "f=${_m_run}/metric-fid50k_full.jsonl && want=$(tail -n 1 $f | grep -o '\"results\": {[^}]*}') && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network ${_m_run}/network-snapshot-000000.bin --metrics fid50k_full \
--detector ${_m}/inception.bin ${_m_flags_sh} && test $(wc -l < $f) -eq 3 && \
got=$(tail -n 1 $f | grep -o '\"results\": {[^}]*}') && echo \"training $want, calc_metrics $got\" && test \"$want\" = \"$got\"")

# KID from calc_metrics on 4 images (the detector costs seconds per image on
# one core): its own jsonl beside the FID's, a finite value, and a second run
# that reads the real feature rows from the cache and gives the same value
# bit for bit (the subsets come from --seed).
gf_test(cpu.calc_metrics_kid FIXTURES_REQUIRED "metrics_run;metrics_jsonl"
        COMMAND sh -c "f=${_m_run}/metric-kid50k_full.jsonl && rm -f $f && \
run() { OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network ${_m_run}/network-snapshot-000000.bin --metrics kid50k_full \
--detector ${_m}/inception.bin --metrics-cache ${_m}/cache --metric-items 4 2>&1; } && \
run > ${_m}/kid1.log && run > ${_m}/kid2.log && grep -q 'items from the cache' ${_m}/kid2.log && ! grep -q warning ${_m}/kid1.log && \
test $(wc -l < $f) -eq 2 && grep -Eq '\"kid50k_full\": -?[0-9]' $f && grep -q '\"num_gen\": 4, \"num_real\": 4' $f && \
a=$(head -n 1 $f | grep -o '\"results\": {[^}]*}') && b=$(tail -n 1 $f | grep -o '\"results\": {[^}]*}') && \
echo \"first $a, second $b\" && test -n \"$a\" && test \"$a\" = \"$b\"")

# A run folder the results cannot go to: refused in one line with the cause
# before the detector, dataset or generator is touched (here the jsonl is a
# folder, which root cannot append to either), and no jsonl made. A failure
# the check cannot foresee (the jsonl a link into a folder that is not there)
# still prints the finished result's line first, then the cause.
set(_m_ro ${_m}/unwritable)
gf_expect_error(calc_metrics_unwritable_run_folder
                "^calc_metrics: error: cannot write the results to .*/unwritable/metric-fid50k_full.jsonl: Is a directory$"
                metrics_run
                sh -c "rm -rf ${_m_ro} && mkdir -p ${_m_ro}/metric-fid50k_full.jsonl && \
cp ${_m_run}/training_options.json ${_m_run}/network-snapshot-000000.bin ${_m_ro}/ && \
exec $<TARGET_FILE:calc_metrics> --network ${_m_ro}/network-snapshot-000000.bin --metrics fid50k_full \
--detector ${CMAKE_SOURCE_DIR}/README.md --metrics-cache ${_m}/cache --metric-items 16")
# The result's line is printed before its append, which fails here at the
# last moment (a file size limit of 0, as a disk that filled): the error
# names the file, and the jsonl holds no half line.
gf_test(cpu.calc_metrics_prints_before_append FIXTURES_REQUIRED "metrics_run;metrics_jsonl"
        COMMAND sh -c "d=${_m}/append_fails && rm -rf $d && mkdir -p $d && \
cp ${_m_run}/training_options.json ${_m_run}/network-snapshot-000000.bin $d/ && \
out=$( (trap '' XFSZ; ulimit -f 0; OMP_NUM_THREADS=1 exec $<TARGET_FILE:calc_metrics> --network $d/network-snapshot-000000.bin \
--metrics kid50k_full --detector ${_m}/inception.bin ${_m_flags_sh}) 2>&1 ); rc=$?; printf '%s\n' \"$out\" > $d/out.log; \
cat $d/out.log; test $rc -eq 1 && \
tail -n 2 $d/out.log | head -n 1 | grep -q '^{\"results\": {\"kid50k_full\": [-0-9]' && \
tail -n 1 $d/out.log | grep -q '^calc_metrics: error: cannot append to .*/metric-kid50k_full.jsonl: File too large$' && \
test ! -s $d/metric-kid50k_full.jsonl")

# Bad input: one line, before any work.
gf_expect_error(train_stylegan_metrics_without_detector "^train_stylegan: error: --metrics fid50k_full needs --detector" ""
                $<TARGET_FILE:train_stylegan> --metrics fid50k_full --outdir ${_m}/bad)
gf_expect_error(train_stylegan_unknown_metric "^train_stylegan: error: unknown metric 'pr10k3' \\(valid: fid50k_full, kid50k_full, pr50k3_full, ppl2_wend, is50k, fid50k, kid50k, pr50k3, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, swd16k, swd16k_reals2, msssim20k, ls\\)" ""
                $<TARGET_FILE:train_stylegan> --metrics fid50k_full,pr10k3 --detector x.bin --outdir ${_m}/bad)
gf_expect_error(calc_metrics_kid_one_image "^calc_metrics: error: --metric-items 1 is too few for kid50k, which needs at least 2 generated images" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics fid50k,kid50k --detector x.bin --metric-items 1)
gf_expect_error(train_stylegan_detector_without_metrics "^train_stylegan: error: --detector applies to --metrics, which is none" ""
                $<TARGET_FILE:train_stylegan> --detector x.bin --outdir ${_m}/bad)
gf_expect_error(train_stylegan_detector_not_inception "^train_stylegan: error: .*network-snapshot-000000.bin.*inception" trained_snapshot
                $<TARGET_FILE:train_stylegan> --metrics fid50k_full --detector ${GF_SMOKE_RUN}/network-snapshot-000000.bin
                --outdir ${_m}/bad)
gf_expect_error(calc_metrics_no_network "^calc_metrics: error: --network is required" ""
                $<TARGET_FILE:calc_metrics> --metrics fid50k_full --detector x.bin)
gf_expect_error(calc_metrics_no_detector "^calc_metrics: error: --metrics fid50k_full needs --detector" trained_snapshot
                $<TARGET_FILE:calc_metrics> --network ${GF_SMOKE_RUN}/network-snapshot-000000.bin)
gf_expect_error(calc_metrics_resolution "^calc_metrics: error: the dataset's images are 8x8, the generator's 256x256" metrics_detector
                $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_256x3.bin
                --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip
                --metrics fid50k_full --detector ${_m}/inception.bin)
gf_expect_error(train_stylegan_is50k_too_few "^train_stylegan: error: --metric-items 5 is too few for is50k" ""
                $<TARGET_FILE:train_stylegan> --metrics is50k --detector x.bin --metric-items 5 --outdir ${_m}/bad)
gf_expect_error(calc_metrics_bad_run_options "^calc_metrics: error: .*training_options.json cannot be read as a JSON object" ""
                sh -c "mkdir -p ${_m}/badrun && echo '{' > ${_m}/badrun/training_options.json && \
cp ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin ${_m}/badrun/net.bin && \
exec $<TARGET_FILE:calc_metrics> --network ${_m}/badrun/net.bin --detector x.bin")
# The run's dataset as training_options.json records it, relative to where
# training ran: from another folder it is missing, and the line says where
# the path came from (it said only "ds.zip: no such file or folder").
gf_expect_error(calc_metrics_run_data_elsewhere "^calc_metrics: error: ds.zip: no such file or folder. this --data path came from .*/relrun/training_options.json \\(a relative path is relative to where training ran\\): run from there, or give --data$" ""
                sh -c "mkdir -p ${_m}/relrun ${_m}/elsewhere && echo '{\"data\": \"ds.zip\"}' > ${_m}/relrun/training_options.json && \
cp ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin ${_m}/relrun/net.bin && cd ${_m}/elsewhere && \
exec $<TARGET_FILE:calc_metrics> --network ${_m}/relrun/net.bin --detector x.bin")
# Outside a run folder, a converted official snapshot's training_set_kwargs
# (convert_weights keeps them) name the dataset and its x-flips, as
# calc_metrics.py reads the pickle's; a relative path missing from here says
# where it came from; malformed ones are named.
gf_test(cpu.calc_metrics_official_training_set
        COMMAND sh -c "d=${_m}/official_kwargs && rm -rf $d && mkdir -p $d/imgs $d/elsewhere && \
[ -x '${GF_PYTHON3}' ] || exit 77; \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0-2 --outdir $d/imgs >/dev/null && \
e='${GF_PYTHON3} ${GF_CLI_DIR}/edit_metadata.py ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin' && \
$e $d/net.bin 'training_set_kwargs={\"path\": \"imgs\", \"xflip\": true, \"max_size\": 3, \"random_seed\": 0}' && \
$e $d/bad.bin 'training_set_kwargs=[1]' && \
(cd $d && $<TARGET_FILE:calc_metrics> --network net.bin --metrics none) | grep -q '^Dataset imgs: 6 images (with x-flips)' && \
(cd $d && $<TARGET_FILE:calc_metrics> --network net.bin --metrics none --mirror false) | grep -q '^Dataset imgs: 3 images$' && \
cd $d/elsewhere && sh ${GF_CLI_DIR}/expect_error.sh \
'^calc_metrics: error: imgs: no such file or folder. this --data path came from .*net.bin.s training_set_kwargs \\(the official snapshot.s\\) \\(a relative path' \
$<TARGET_FILE:calc_metrics> --network ../net.bin --metrics none && \
sh ${GF_CLI_DIR}/expect_error.sh '^calc_metrics: error: .*bad.bin.s training_set_kwargs \\(the official snapshot.s\\) is not a JSON object with a .path. string: \\[1\\]. give --data' \
$<TARGET_FILE:calc_metrics> --network ../bad.bin --metrics none && \
sh ${GF_CLI_DIR}/expect_error.sh '^calc_metrics: error: --data is required: .*parity_32x1.bin is not in a run folder with training_options.json, and holds no official training_set_kwargs$' \
$<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --metrics none && echo 'official training set'")
set_tests_properties(cpu.calc_metrics_official_training_set PROPERTIES PASS_REGULAR_EXPRESSION "official training set")
# A conditional network against unlabelled data names the network, not
# train_stylegan's --cond, which calc_metrics has not.
gf_expect_error(calc_metrics_cond_unlabelled "^calc_metrics: error: .*/nolabels: the conditional network .*parity_32x3_c4.bin \\(c_dim 4\\) needs labels in dataset.json" metrics_detector
                sh -c "rm -rf ${_m}/nolabels && mkdir -p ${_m}/nolabels && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0 --outdir ${_m}/nolabels >/dev/null && \
exec $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin --data ${_m}/nolabels \
--metrics-cache none --detector ${_m}/inception.bin")
# A grey generator against colour data: computed as the official metrics do
# (grey repeated to RGB), with a warning that names both sides.
gf_cli_test(calc_metrics_grey_vs_rgb FIXTURES_REQUIRED metrics_detector
            EXPECT "^calc_metrics: warning: .*parity_32x1.bin makes grey images, but rgb's are RGB: the metrics compare them with grey repeated to RGB, as the official code does$"
                   "^\\{\"results\": \\{\"fid50k_full\": [0-9.e+]+\\}"
            COMMAND sh -c "rm -rf ${_m}/rgb && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin --seeds 0 --class 1 --outdir ${_m}/rgb >/dev/null && \
OMP_NUM_THREADS=1 exec $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --data ${_m}/rgb \
--metrics fid50k_full --metric-items 1 --metrics-cache none --detector ${_m}/inception.bin")

# --data-from-files: the same results, and the same cache entry (the key
# names the pixels, not how they are held), as the data held.
gf_cli_test(calc_metrics_data_from_files FIXTURES_REQUIRED metrics_detector
            EXPECT "^Dataset data: 6 images \\(with x-flips\\), read from their files$"
                   "^dataset features: 3 items from the cache " "^same results held and from files$"
            COMMAND sh -c "d=${_m}/from_files && net=${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin && rm -rf $d && \
$<TARGET_FILE:generate> --network $net --seeds 0-2 --outdir $d/data >/dev/null && \
for m in held files; do f=; if [ $m = files ]; then f=--data-from-files; fi; \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network $net --data $d/data --mirror 1 \
--metrics fid50k_full,kid50k_full --metric-items 3 --metrics-cache $d/cache --detector ${_m}/inception.bin $f \
> $d/$m.log 2>&1 || exit 1; grep -o '.results.: {[^}]*}' $d/$m.log > $d/$m.results; done && cat $d/files.log && \
test `wc -l < $d/held.results` -eq 2 && cmp $d/held.results $d/files.results && \
echo 'same results held and from files'")

# A dataset file that does not decode is passed over, as in training, and
# said, as the trainers log it (the metrics were of fewer images, in silence).
gf_cli_test(calc_metrics_skipped_files_said FIXTURES_REQUIRED metrics_detector
            EXPECT "^Dataset .*/skipping: 1 of 2 files skipped, 1 image used:$" "^  .*/skipping/seed0001.png: "
                   "^\\{\"results\": \\{\"fid50k_full\": [0-9.e+]+\\}"
            COMMAND sh -c "rm -rf ${_m}/skipping && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0 --outdir ${_m}/skipping >/dev/null && \
head -c 100 ${_m}/skipping/seed0000.png > ${_m}/skipping/seed0001.png && \
OMP_NUM_THREADS=1 exec $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --data ${_m}/skipping \
--metrics fid50k_full --metric-items 1 --metrics-cache none --detector ${_m}/inception.bin")

# A network whose weights overflow (NaN images): the metrics take its
# pixels as black, as the official uint8 cast does, so a finite FID came out
# in silence; now a warning says so, once for each kind of images (LS's
# set-up probe, first, had silenced FID's).
gf_cli_test(calc_metrics_nonfinite_images_warned FIXTURES_REQUIRED metrics_detector
            EXPECT "^warning: the network's generated images hold NaN or inf pixels \\(its weights overflow\\)"
                   "^\\{\"results\": \\{\"fid50k_full\": "
            COMMAND sh -c "rm -rf ${_m}/overflow && mkdir -p ${_m}/overflow && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py ${CMAKE_SOURCE_DIR}/tests/data/fashion_mnist_small_G.bin ${_m}/overflow/G.bin \
mapping.fc0.weight=1e30 mapping.fc1.weight=1e30 && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/fashion_mnist_small_G.bin --seeds 0-1 --outdir ${_m}/overflow/data >/dev/null && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network ${_m}/overflow/G.bin --data ${_m}/overflow/data \
--metrics fid50k_full,ls --metric-items 2 --metrics-cache none --detector ${_m}/inception.bin \
--classifiers ${CMAKE_SOURCE_DIR}/tests/data/ls_classifiers.bin > ${_m}/overflow/out 2>&1 && \
test $(grep -c '^warning: the network.s generated images' ${_m}/overflow/out) -eq 1 && \
test $(grep -c '^warning: the network.s LS sample images' ${_m}/overflow/out) -eq 1 && cat ${_m}/overflow/out")

# The other families. StyleGAN (v1) evaluates after each snapshot as its
# official loop does (fid50k, Gs without truncation); calc_metrics on its
# snapshot, and on a PGGAN run's, goes through the same adapters
# (metrics/generators.h) and finds their datasets in their run folders.
set(_m_v1 ${_m}/v1/00000-fashion-mnist-stylegan-tiny)
gf_cli_test(train_stylegan_v1_metrics FRESH ${_m}/v1
            EXPECT "^Evaluating metrics" "\"metric\": \"fid50k\"" "Done: "
            REJECT ${GF_NONFINITE} "NaN|Infinity" FIXTURES_REQUIRED metrics_detector FIXTURES_SETUP metrics_v1_run
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny
                    --kimg 0.032 --tick 0.032 --snap 1 --max-images 64 --metrics fid50k
                    --detector ${_m}/inception.bin ${_m_flags} --outdir ${_m}/v1)
gf_test(cpu.calc_metrics_v1_matches_training FIXTURES_REQUIRED metrics_v1_run
        COMMAND sh -c "f=${_m_v1}/metric-fid50k.jsonl && want=$(tail -n 1 $f | grep -o '\"results\": {[^}]*}') && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network ${_m_v1}/network-snapshot-000000.bin --metrics fid50k \
--detector ${_m}/inception.bin ${_m_flags_sh} && \
got=$(tail -n 1 $f | grep -o '\"results\": {[^}]*}') && echo \"training $want, calc_metrics $got\" && test \"$want\" = \"$got\"")
gf_cli_test(calc_metrics_pggan EXPECT "\"results\": \\{\"kid50k_full\": -?[0-9]" REJECT "NaN|Infinity"
            FIXTURES_REQUIRED "metrics_detector;pggan_run"
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics>
                    --network ${CMAKE_BINARY_DIR}/test_pggan/runs/00000-fashion-mnist-pggan-tiny/network-snapshot-000000.bin
                    --metrics kid50k_full --detector ${_m}/inception.bin --metrics-cache none --metric-items 16)
# PGGAN's own metrics on its run (32x32: two pyramid levels), no detector.
gf_cli_test(calc_metrics_pggan_swd_msssim
            EXPECT "\"results\": \\{\"swd16k_16\": [0-9.]+, \"swd16k_32\": [0-9.]+, \"swd16k_avg\": [0-9.]+\\}, \"metric\": \"swd16k\""
                   "\"results\": \\{\"swd16k_reals2_16\": [0-9.]+, \"swd16k_reals2_32\": [0-9.]+, \"swd16k_reals2_avg\": [0-9.]+\\}, \"metric\": \"swd16k_reals2\".*\"num_gen\": 0, \"num_real\": 18"
                   "\"results\": \\{\"msssim20k\": 0[.][0-9]+, \"msssim20k_reals\": 0[.][0-9]+\\}, \"metric\": \"msssim20k\".*\"num_gen\": 8"
            REJECT "NaN|Infinity" FIXTURES_REQUIRED pggan_run
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics>
                    --network ${CMAKE_BINARY_DIR}/test_pggan/runs/00000-fashion-mnist-pggan-tiny/network-snapshot-000000.bin
                    --metrics swd16k,swd16k_reals2,msssim20k --metrics-cache none --metric-items 9)

# StyleGAN's linear separability with the 40 tiny classifiers of
# tools/fixtures/make_ls_fixtures.py (8x8): the v1 test network's 16x16 images (2x2
# means), then a v1 run evaluating it after its snapshots (8x8: no
# downsampling), on a one-image RGB dataset; the run's last result equals
# calc_metrics' on its snapshot.
set(_ls ${CMAKE_BINARY_DIR}/test_ls)
set(_ls_flags --metrics ls --classifiers ${CMAKE_SOURCE_DIR}/tests/data/ls_classifiers.bin --metric-items 40)
string(REPLACE ";" " " _ls_flags_sh "${_ls_flags}")
gf_test(cpu.calc_metrics_ls COMMAND sh -c "rm -rf ${_ls} && mkdir -p ${_ls} && for s in 8 16; do \
$<TARGET_FILE:dataset_tool> --source ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --dest ${_ls}/rgb$s.zip \
--width $s --height $s --max-images 1 > /dev/null || exit 1; done && export OMP_NUM_THREADS=1 && \
$<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/stylegan_16x3.bin --data ${_ls}/rgb16.zip \
${_ls_flags_sh} --metrics-cache none && \
$<TARGET_FILE:train_stylegan> --arch stylegan --cfg tiny --data ${_ls}/rgb8.zip --kimg 0.008 --tick 0.004 --snap 1 \
${_ls_flags_sh} --outdir ${_ls}/run > ${_ls}/train.log && r=$(echo ${_ls}/run/00000-*) && \
test -s $r/metric-ls.jsonl && want=$(tail -n 1 $r/metric-ls.jsonl | grep -o '\"results\": {[^}]*}') && \
snap=$(ls $r/network-snapshot-*.bin | tail -n 1) && \
$<TARGET_FILE:calc_metrics> --network $snap ${_ls_flags_sh} --metrics-cache none > /dev/null && \
got=$(tail -n 1 $r/metric-ls.jsonl | grep -o '\"results\": {[^}]*}') && echo \"training $want, calc_metrics $got\" && \
test \"$want\" = \"$got\"")
set_tests_properties(cpu.calc_metrics_ls PROPERTIES TIMEOUT 300 PASS_REGULAR_EXPRESSION
  "\"results\": \\{\"ls_w\": [0-9.]+, \"ls_z\": [0-9.]+\\}, \"metric\": \"ls\".*\"num_gen\": 40\\}.*training \"results\": .\"ls_w\": [0-9.]+, \"ls_z\": [0-9.]+., calc_metrics"
  FAIL_REGULAR_EXPRESSION "NaN|Infinity")
gf_expect_error(calc_metrics_ls_without_classifiers "^calc_metrics: error: --metrics ls needs --classifiers FILE.bin: StyleGAN's 40 CelebA-HQ attribute classifiers" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics fid50k,ls --detector x.bin)
gf_expect_error(calc_metrics_ls_one_sample "^calc_metrics: error: --metric-items 1 is too few for ls, which needs at least 2 samples .it keeps the most confident half.$" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics ls --classifiers x.bin --metric-items 1)
gf_expect_error(calc_metrics_classifiers_without_ls "^calc_metrics: error: --classifiers are the attribute classifiers of ls; --metrics swd16k does not run it$" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics swd16k --classifiers x.bin)
gf_expect_error(calc_metrics_ls_pggan "^calc_metrics: error: ls separates Z and W through a mapping network, which PGGAN has not" ""
                $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --data x.zip ${_ls_flags})
gf_expect_error(calc_metrics_ls_not_classifiers "^calc_metrics: error: .*stylegan_16x3.bin: not a converted set of attribute classifiers" ""
                $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/stylegan_16x3.bin --data x.zip
                --metrics ls --classifiers ${CMAKE_SOURCE_DIR}/tests/data/stylegan_16x3.bin)

# Precision/recall and PPL: a stand-in for the converted VGG16
# (tools/fixtures/make_vgg16_standin.py: the reference network at widths / 16 with
# hashed weights, saved as torchvision's and LPIPS's state dicts) through
# tools/convert_weights.py; train_stylegan evaluates ppl_wend and
# pr50k3_full after each snapshot, and calc_metrics on the snapshot gives
# both values bit for bit (same paths, same images, real features from the
# cache). Conditional on a --max-images subset: PPL's labels are drawn from
# the subset (compute_ppl keeps the run's max_size), which calc_metrics
# rebuilds from training_options.json (it drew from the whole dataset).
set(_p ${GF_TEST_RUNS}/metrics_vgg)  # beside ${_m}, not in it: the two fixtures run side by side under ctest -j
set(_p_run ${_p}/train/00000-fashion-mnist-cond-subset64-tiny-kimg0.008)
gf_test(cpu.metrics_vgg16 FIXTURES_SETUP metrics_vgg16
        COMMAND sh -c "rm -rf ${_p} && mkdir -p ${_p} && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/fixtures/make_vgg16_standin.py ${_p}/vgg16-standin.pth \
${_p}/lin-standin.pth && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import ${_p}/vgg16-standin.pth ${_p}/vgg16.bin \
--format vgg16 --lpips ${_p}/lin-standin.pth && rm ${_p}/vgg16-standin.pth ${_p}/lin-standin.pth")
set(_p_flags --metrics ppl_wend,pr50k3_full --vgg16 ${_p}/vgg16.bin --metrics-cache ${_p}/cache --metric-items 8)
string(REPLACE ";" " " _p_flags_sh "${_p_flags}")
gf_cli_test(train_stylegan_ppl_pr FRESH ${_p}/train
            EXPECT "^\\{\"results\": \\{\"ppl_wend\": [0-9.e+-]+\\}, \"metric\": \"ppl_wend\",.*\"num_gen\": 8\\}$"
                   "^\\{\"results\": \\{\"pr50k3_full_precision\": [0-9.e+-]+, \"pr50k3_full_recall\": [0-9.e+-]+\\}, \"metric\": \"pr50k3_full\",.*\"num_gen\": 8, \"num_real\": 8\\}$"
                   "items from the cache" "Done: "
            REJECT ${GF_NONFINITE} "NaN|null,|Infinity" FIXTURES_REQUIRED metrics_vgg16 FIXTURES_SETUP metrics_ppl_run
            COMMAND ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1 $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0.008
                    --tick 0.004 --snap 1 --max-images 64 --cond 1 ${_p_flags} --outdir ${_p}/train)
gf_test(cpu.calc_metrics_ppl_pr_matches_training FIXTURES_REQUIRED metrics_ppl_run
        COMMAND sh -c "for m in ppl_wend pr50k3_full; do test $(wc -l < ${_p_run}/metric-$m.jsonl) -eq 2 || exit 1; done && \
want=$(tail -q -n 1 ${_p_run}/metric-ppl_wend.jsonl ${_p_run}/metric-pr50k3_full.jsonl | grep -o '\"results\": {[^}]*}') && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network ${_p_run}/network-snapshot-000000.bin ${_p_flags_sh} && \
got=$(tail -q -n 1 ${_p_run}/metric-ppl_wend.jsonl ${_p_run}/metric-pr50k3_full.jsonl | grep -o '\"results\": {[^}]*}') && \
echo \"training $want, calc_metrics $got\" && test \"$want\" = \"$got\" && \
test $(grep -c '\"ppl_wend\":[0-9]' ${_p_run}/stats.jsonl) -eq 2")
# --dry-run checks the metrics' image sizes on blank images of the run's
# shape (it stopped at "a dry run generates no image" for PPL with VGG16):
# ppl_wend's crop and ls's 32 -> 8 (grey repeated to RGB) pass on
# Fashion-MNIST; nothing is made.
gf_test(cpu.train_stylegan_dry_run_metric_probes FIXTURES_REQUIRED metrics_vgg16
        COMMAND sh -c "d=${GF_TEST_RUNS}/metrics_dry_probes && rm -rf $d && export OMP_NUM_THREADS=1 && \
$<TARGET_FILE:train_stylegan> --cfg tiny --metrics ppl_wend --vgg16 ${_p}/vgg16.bin --dry-run --outdir $d | tail -n 1 && \
$<TARGET_FILE:train_stylegan> --cfg tiny --metrics ls --classifiers ${CMAKE_SOURCE_DIR}/tests/data/ls_classifiers.bin \
--dry-run --outdir $d | tail -n 1 && test ! -e $d")
set_tests_properties(cpu.train_stylegan_dry_run_metric_probes PROPERTIES PASS_REGULAR_EXPRESSION
                     "^Dry run. exiting.*Dry run. exiting")

# The same snapshot outside its run folder, as a converted official one
# with train.py's training_set_kwargs (path "" is Fashion-MNIST here): PPL's
# labels come from the max_size subset with random_seed, giving the
# training's value; a max_size not below the dataset's count is no subset
# (it was refused as "--max-images 100000 is more than its ... images");
# a seed numpy refuses is named.
gf_test(cpu.calc_metrics_official_kwargs_ppl_subset FIXTURES_REQUIRED metrics_ppl_run
        COMMAND sh -c "d=${_p}/official && rm -rf $d && mkdir -p $d && \
seed=$('${GF_PYTHON3}' -c 'import json, sys; print(json.load(open(sys.argv[1]))[\"subset_seed\"])' ${_p_run}/training_options.json) && \
e='${GF_PYTHON3} ${GF_CLI_DIR}/edit_metadata.py ${_p_run}/network-snapshot-000000.bin' && \
kw() { printf '{\"path\": \"\", \"max_size\": %s, \"random_seed\": %s}' $1 $2; } && \
$e $d/sub.bin \"training_set_kwargs=$(kw 64 $seed)\" && $e $d/all.bin \"training_set_kwargs=$(kw 100000 $seed)\" && \
$e $d/bad.bin \"training_set_kwargs=$(kw 64 -1)\" && \
ppl() { OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network $1 ${_p_flags_sh} --metrics ppl_wend | grep -o '\"ppl_wend\": [^}]*'; } && \
want=$(sed -n 2p ${_p_run}/metric-ppl_wend.jsonl | grep -o '\"ppl_wend\": [^}]*') && \
sub=$(ppl $d/sub.bin) && all=$(ppl $d/all.bin) && echo \"training $want, subset $sub, whole $all\" && \
test \"$want\" = \"$sub\" && test \"$sub\" != \"$all\" && \
sh ${GF_CLI_DIR}/expect_error.sh \"^calc_metrics: error: .*bad.bin's training_set_kwargs \\(the official snapshot's\\): the subset's seed -1 is no seed numpy's RandomState takes\" \
$<TARGET_FILE:calc_metrics> --network $d/bad.bin ${_p_flags_sh} --metrics ppl_wend && echo 'official subset'")
set_tests_properties(cpu.calc_metrics_official_kwargs_ppl_subset PROPERTIES PASS_REGULAR_EXPRESSION "official subset")

# Bad input for PR and PPL: one line each, before any work.
gf_expect_error(train_stylegan_ppl_without_vgg16 "^train_stylegan: error: --metrics ppl_wend,pr50k3 needs --vgg16 FILE.bin" ""
                $<TARGET_FILE:train_stylegan> --metrics fid50k_full,ppl_wend,pr50k3 --detector x.bin --outdir ${_m}/bad)
gf_expect_error(calc_metrics_vgg16_unused "^calc_metrics: error: --vgg16 is the network of PR and PPL. --metrics fid50k_full runs neither$" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics fid50k_full --detector x.bin --vgg16 v.bin)
gf_expect_error(calc_metrics_detector_unused "^calc_metrics: error: --detector is the Inception network of FID, KID and IS. --metrics ppl_zfull runs none of them$" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics ppl_zfull --detector x.bin --vgg16 v.bin)
gf_expect_error(train_stylegan_vgg16_without_metrics "^train_stylegan: error: --vgg16 applies to --metrics, which is none" ""
                $<TARGET_FILE:train_stylegan> --vgg16 v.bin --outdir ${_m}/bad)
gf_expect_error(calc_metrics_pr_too_few "^calc_metrics: error: --metric-items 3 is too few for pr50k3_full, which needs at least 4" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --metrics pr50k3_full --vgg16 v.bin --metric-items 3)
gf_expect_error(calc_metrics_ppl_pggan "^calc_metrics: error: ppl_wend interpolates in W or Z through a mapping network, which PGGAN has not" pggan_run
                $<TARGET_FILE:calc_metrics>
                --network ${CMAKE_BINARY_DIR}/test_pggan/runs/00000-fashion-mnist-pggan-tiny/network-snapshot-000000.bin
                --metrics ppl_wend --vgg16 v.bin --metrics-cache none)
gf_expect_error(calc_metrics_vgg16_not_vgg16 "^calc_metrics: error: .*inception.bin" metrics_detector
                $<TARGET_FILE:calc_metrics> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin
                --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --metrics pr50k3 --vgg16 ${_m}/inception.bin)
# A metric the data cannot serve (KID of a one-image dataset) is refused when
# the run sets up, in one line, before the run folder is made; --dry-run
# refuses it too.
gf_cli_test(train_stylegan_metric_refused_before_run_folder FIXTURES_REQUIRED metrics_detector
            COMMAND sh -c "d=${GF_TEST_RUNS}/metrics_one_image && rm -rf $d && mkdir -p $d/data && \
printf 'P5\\n32 32\\n255\\n' > $d/data/a.pgm && head -c 1024 /dev/zero >> $d/data/a.pgm && \
sh ${GF_CLI_DIR}/expect_error.sh '^train_stylegan: error: kid50k_full: needs at least 2 generated and 2 real images' \
$<TARGET_FILE:train_stylegan> --cfg tiny --data $d/data --metrics kid50k_full --detector ${_m}/inception.bin --outdir $d/runs && \
sh ${GF_CLI_DIR}/expect_error.sh '^train_stylegan: error: kid50k_full: needs at least 2' \
$<TARGET_FILE:train_stylegan> --cfg tiny --data $d/data --metrics kid50k_full --detector ${_m}/inception.bin --dry-run --outdir $d/runs && \
test ! -e $d/runs")
# Ctrl-C while a snapshot's metrics run (hours at 50k images) stops the run
# at the next generator batch, not after the metric: no jsonl line, the
# run's log ends with the stop, and the process dies of the signal.
gf_test(cpu.train_stylegan_metrics_interrupted FIXTURES_REQUIRED metrics_detector
        COMMAND sh -c "d=${_m}/interrupted; r=$d/00000-fashion-mnist-subset64-tiny-kimg0.008; rm -rf $d && mkdir -p $d || exit 1; \
OMP_NUM_THREADS=1 env --default-signal=INT $<TARGET_FILE:train_stylegan> --cfg tiny --kimg 0.008 --tick 0.004 --snap 1 \
--max-images 64 --metrics fid50k_full --detector ${_m}/inception.bin --metrics-cache $d/cache --metric-items 16 \
--outdir $d > $d/out.log 2>&1 & pid=$!; i=0; \
until grep -q 'Evaluating metrics' $r/log.txt 2>/dev/null; do i=$((i+1)); \
if [ $i -gt 1200 ] || ! kill -0 $pid 2>/dev/null; then kill -9 $pid 2>/dev/null; cat $d/out.log; exit 1; fi; sleep 0.1; done; \
kill -INT $pid; wait $pid; rc=$?; cat $d/out.log; echo \"exit status $rc\"; test $rc -eq 130 && \
test ! -e $r/metric-fid50k_full.jsonl && \
test \"$(tail -n 1 $r/log.txt)\" = 'train_stylegan: error: Interrupted by SIGINT' && \
grep -q 'Stopped: Interrupted by SIGINT' $r/report.html")
# --mirror takes calc_metrics.py's booleans (true/false as click's bool, 1/0): 'true' was refused.
gf_expect_error(calc_metrics_mirror_not_bool "^calc_metrics: error: --mirror expects true or false, got 'maybe'$" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --mirror maybe --metrics fid50k --detector x.bin)
gf_expect_error(calc_metrics_mirror_true "^calc_metrics: error: .*no-such-network.bin" ""
                $<TARGET_FILE:calc_metrics> --network ${CMAKE_BINARY_DIR}/no-such-network.bin --mirror true --metrics fid50k --detector x.bin)
# calc_metrics.py's --gpus N launches N processes; here a launcher does, so N
# must be its count: --gpus 2 in one process is refused, --gpus 1 is what it
# is (below).
gf_expect_error(calc_metrics_official_gpus "^calc_metrics: error: --gpus 2 is calc_metrics.py's process count; here one process runs per device, .* and 1 process was launched: leave --gpus out, or launch that many$" ""
                $<TARGET_FILE:calc_metrics> --network x.bin --gpus 2 --metrics fid50k --detector x.bin)
# calc_metrics.py's own spellings (a breaker's finds, each refused before):
# --metrics none loads the network and the dataset and exits 0, as the
# official script; --gpus 1 alone; --verbose false prints the result lines
# alone, as the official (the "Dataset" and "Evaluating metrics..." lines were left).
gf_test(cpu.calc_metrics_official_spellings FIXTURES_REQUIRED "metrics_run;metrics_jsonl"
        COMMAND sh -c "d=${_m}/spellings_run && rm -rf $d && cp -r ${_m_run} $d && n=$d/network-snapshot-000000.bin && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network $n --metrics None --gpus 1 > ${_m}/none.log 2>&1 && \
grep -q '^--metrics none: the network and dataset load; no metric to evaluate$' ${_m}/none.log && \
OMP_NUM_THREADS=1 $<TARGET_FILE:calc_metrics> --network $n --metrics kid50k_full --detector ${_m}/inception.bin \
--metrics-cache none --metric-items 4 --verbose false > ${_m}/quiet.log 2>&1 && \
grep -q '^{\"results\": {\"kid50k_full\"' ${_m}/quiet.log && test $(wc -l < ${_m}/quiet.log) = 1 && echo official spellings read")
set_tests_properties(cpu.calc_metrics_official_spellings PROPERTIES PASS_REGULAR_EXPRESSION "official spellings read")
# A run folder whose training_options.json names no dataset ("data": null,
# hand-edited): said so (it said the folder had no training_options.json).
gf_expect_error(calc_metrics_options_without_data "^calc_metrics: error: --data is required: .*/nulldata/training_options.json names no dataset \\(its \"data\" is null\\)$" ""
                sh -c "d=${_m}/nulldata && rm -rf $d && mkdir -p $d && cp ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin $d/net.bin && \
echo '{\"data\": null}' > $d/training_options.json && exec $<TARGET_FILE:calc_metrics> --network $d/net.bin --metrics kid50k_full --detector /nowhere.bin")
