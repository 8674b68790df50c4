# generate, discriminate and export_weights (included from CMakeLists.txt; helpers in helpers.cmake).

# tests/test_tools.cpp runs the programs from gf_tests and compares their
# output with the in-process networks: it needs them built, and where they are.
add_dependencies(gf_tests generate discriminate export_weights train_stylegan)
target_compile_definitions(gf_tests PRIVATE GF_TOOLS_DIR="$<TARGET_FILE_DIR:generate>")

set(_gen ${CMAKE_BINARY_DIR}/test_gen)
set(_snapshot ${GF_SMOKE_RUN}/network-snapshot-000000.bin)  # the smoke run's (kimg 0.032)
set(_z ${CMAKE_SOURCE_DIR}/tests/data/z_2x16.npy)  # two latents for the tiny config (z_dim 16)

# generate turns the smoke run's snapshot into a grid.
gf_cli_test(generate_from_snapshot FRESH ${_gen}/grid FIXTURES_REQUIRED trained_snapshot
            COMMAND sh -c "$<TARGET_FILE:generate> --network ${_snapshot} --seeds 0-3 --grid 2x2 --trunc 0.7 \
--outdir ${_gen}/grid && test -s ${_gen}/grid/grid.png")

# export_weights takes G_ema and D out of the snapshot; generating from the
# exported G_ema gives the same raw images, byte for byte, as from the bundle.
gf_cli_test(export_weights_from_snapshot FRESH ${_gen}/exported FIXTURES_REQUIRED trained_snapshot
            FIXTURES_SETUP exported_networks
            COMMAND sh -c "mkdir -p ${_gen}/exported && \
$<TARGET_FILE:export_weights> --in ${_snapshot} --net G_ema --out ${_gen}/exported/G_ema.bin && \
$<TARGET_FILE:export_weights> --in ${_snapshot} --net D --out ${_gen}/exported/D.bin")
gf_cli_test(generate_raw_exported_equals_bundle FRESH ${_gen}/raw
            FIXTURES_REQUIRED "trained_snapshot;exported_networks" FIXTURES_SETUP generated_raw
            COMMAND sh -c "mkdir -p ${_gen}/raw && \
$<TARGET_FILE:generate> --network ${_snapshot} --z ${_z} --trunc 0.7 --raw ${_gen}/raw/bundle.npy --outdir ${_gen}/raw/z_bundle && \
$<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --z ${_z} --trunc 0.7 --raw ${_gen}/raw/raw.npy --outdir ${_gen}/raw/z && \
cmp ${_gen}/raw/bundle.npy ${_gen}/raw/raw.npy && test -s ${_gen}/raw/z/img0001.png")

# A seed given twice is one file: the count says so (it said 3 images for 2
# files), and how many were made (--raw holds them all).
gf_cli_test(generate_repeated_seed_counts_files FRESH ${_gen}/repeated
            EXPECT "^generate: wrote 2 images to .*/repeated [(]3 made: a repeated name is written over[)]$"
            COMMAND sh -c "$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 1,1,2 \
--outdir ${_gen}/repeated && test `ls ${_gen}/repeated | wc -l` -eq 2")

# discriminate scores the generated images: two finite logits.
gf_cli_test(discriminate_generated FIXTURES_REQUIRED "exported_networks;generated_raw"
            EXPECT "^discriminate: wrote logits \\[2, 1\\] to "
            COMMAND $<TARGET_FILE:discriminate> --network ${_gen}/exported/D.bin --images ${_gen}/raw/raw.npy
                    --out ${_gen}/raw/logits.npy)

# A discriminator whose weights overflow: its logits were written as inf
# with exit 0 ("0 of 2 finite"); refused as generate refuses such images.
gf_expect_error(discriminate_overflowing_network "^discriminate: error: --network .*D_overflow.bin: logit 0 of 2 is not finite \\(NaN or inf\\) for finite images: the network's weights overflow \\(damaged\\?\\); nothing written$"
                "exported_networks;generated_raw"
                sh -c "'${GF_PYTHON3}' ${GF_CLI_DIR}/edit_tensor.py ${_gen}/exported/D.bin ${_gen}/raw/D_overflow.bin b4.fc.weight=1e30 b4.out.weight=1e30 \
&& rm -f ${_gen}/raw/never.npy && \
$<TARGET_FILE:discriminate> --network ${_gen}/raw/D_overflow.bin --images ${_gen}/raw/raw.npy --out ${_gen}/raw/never.npy; \
s=$?; test ! -e ${_gen}/raw/never.npy && exit $s")

# Bad input: exit status 1 and one line naming the problem.
set(_bad ${_gen}/bad)
gf_expect_error(generate_wrong_z_width "^generate: error: --z .*npy_f32_2x3.npy: shape \\[2, 3\\], expected \\[N, 16\\]"
                exported_networks $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin
                --z ${CMAKE_SOURCE_DIR}/tests/data/npy_f32_2x3.npy --outdir ${_bad})
# Finite inputs that still give no image: a float64 --z past float32's range
# (an infinity where the network reads it), and a --trunc so large that the
# network overflows. Each was a black PNG (NaN) and exit 0.
gf_test(cpu.generate_overflow_refused FIXTURES_REQUIRED exported_networks
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy' 2>/dev/null || exit 77; d=${_gen}/overflow && rm -rf $d && mkdir -p $d && \
'${GF_PYTHON3}' -c \"import numpy as np; z = np.zeros((1, 16)); z[0, 3] = 1e300; np.save('$d/z.npy', z)\" && \
! $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --z $d/z.npy --outdir $d/out 2> $d/z.err && \
grep -qx 'generate: error: --z .*/z.npy: element \\[0, 3\\] is 1e+300, beyond float32.s range .*' $d/z.err && \
! $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --seeds 0 --trunc 1e308 --outdir $d/out 2> $d/trunc.err && \
grep -qx 'generate: error: image 0 (seed0000.png) is not finite (NaN or inf): .*' $d/trunc.err && \
test ! -e $d/out/seed0000.png && echo overflow refused")
set_tests_properties(cpu.generate_overflow_refused PROPERTIES PASS_REGULAR_EXPRESSION "overflow refused" SKIP_RETURN_CODE 77)
gf_expect_error(generate_missing_network "^generate: error: .*no-such-network.bin: cannot open: No such file or directory$" ""
                $<TARGET_FILE:generate> --network ${_gen}/no-such-network.bin --outdir ${_bad})
# --class on an unconditional network: a warning, and the images, as
# generate.py ("warn: --class=lbl ignored when running on an unconditional network").
gf_cli_test(generate_class_unconditional FRESH ${_gen}/class_unconditional FIXTURES_REQUIRED exported_networks
            EXPECT "^generate: warning: --class 1 is ignored: the network is unconditional$" "^generate: wrote 1 image"
            COMMAND $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --class 1 --seeds 0
                    --outdir ${_gen}/class_unconditional)
gf_expect_error(generate_grid_mismatch "^generate: error: --grid 2x2 holds 4 images, but 3 images are generated"
                exported_networks $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --seeds 0-2 --grid 2x2
                --outdir ${_bad})
gf_expect_error(generate_grid_mismatch_one "^generate: error: --grid 2x1 holds 2 images, but 1 image is generated$"
                exported_networks $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --seeds 0 --grid 2x1
                --outdir ${_bad})
# --trunc-cutoff is StyleGAN (v1)'s alone; the PGGAN refusal said StyleGAN2 took it too.
gf_expect_error(generate_pggan_trunc_cutoff "^generate: error: --trunc-cutoff applies to StyleGAN \\(v1\\) networks; .*pggan_32x1.bin holds a PGGAN generator$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --seeds 0 --trunc-cutoff 2
                --outdir ${_bad})
# A grid past what the PNG writer takes (it overflowed its buffers) is refused
# before any image is made: 11000 images of 256x256x3.
gf_expect_error(generate_grid_too_large "^generate: error: --grid 110x100: a grid of 110x100 images of 256x256 would be a 28160x25600 PNG, over the 0.95 GB of pixels the PNG writer takes. use a smaller grid, or one PNG per image$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_256x3.bin --seeds 0-10999
                --grid 110x100 --outdir ${_bad})
# The same before any image for every family and layout: a PGGAN grid of a
# million 32x32 images, a StyleGAN2 style-mixing canvas of 121x121 (v1's:
# tests/cli/stylegan.cmake).
gf_expect_error(generate_pggan_grid_too_large "^generate: error: --grid 1000x1000: a grid of 1000x1000 images of 32x32 would be a 32000x32000 PNG, over the 0.95 GB" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --seeds 0-999999
                --grid 1000x1000 --outdir ${_bad})
gf_expect_error(generate_mixing_too_large "^generate: error: --mix-rows/--mix-cols: a grid of 121x121 images of 256x256 would be a 30976x30976 PNG, over the 0.95 GB" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_256x3.bin --mix-rows 0-119
                --mix-cols 0-119 --outdir ${_bad})
gf_expect_error(generate_conflicting_modes "^generate: error: --seeds, --z, .* give one" ""
                $<TARGET_FILE:generate> --network ${_gen}/exported/G_ema.bin --seeds 1 --z ${_z})
gf_expect_error(discriminate_wrong_image_shape "^discriminate: error: --images .*z_2x16.npy: shape \\[2, 16\\], but the discriminator reads \\[N, 1, 32, 32\\]"
                exported_networks $<TARGET_FILE:discriminate> --network ${_gen}/exported/D.bin --images ${_z} --out ${_bad}/bad.npy)
gf_expect_error(export_weights_absent_network "^export_weights: error: .*G_ema.bin: holds no D network \\(it holds: G_ema\\)"
                exported_networks $<TARGET_FILE:export_weights> --in ${_gen}/exported/G_ema.bin --net D --out ${_bad}/bad.bin)
# A folder given for a file is named as one (Linux opens a folder as a stream
# that reads garbage), in every reader (engine/io/input_file.h).
gf_expect_error(generate_network_is_folder "^generate: error: /[^:]*/tests/data: is a folder, not a file$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data --outdir ${_bad})
gf_expect_error(discriminate_images_is_folder "^discriminate: error: npy: .*/tests/data: is a folder, not a file$" ""
                $<TARGET_FILE:discriminate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin
                --images ${CMAKE_SOURCE_DIR}/tests/data --out ${_bad}/logits.npy)
# An output folder that cannot be made (a file in the way) is named with its
# flag and the reason, in every program (io::create_folder).
gf_expect_error(generate_outdir_is_file "^generate: error: --outdir .*/parity_32x1.bin: Not a directory$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0
                --outdir ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin)
# Input refused after the network is read (a grid that does not hold the
# seeds, a --w or --z of the wrong shape, a label for an unconditional
# network, a PGGAN grid) leaves no empty --outdir behind: the folder is
# checked up front and made at the first write (io::check_folder).
gf_test(cpu.generate_refused_leaves_no_outdir
        COMMAND sh -c "d=${_gen}/refused && rm -rf $d && mkdir -p $d && e='sh ${GF_CLI_DIR}/expect_error.sh' && \
g='$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin' && \
$e 'holds 9 images, but 16 images are generated' $g --seeds 0-15 --grid 3x3 --outdir $d/grid/out && \
$e '^generate: error: --w ' $g --w ${CMAKE_SOURCE_DIR}/tests/data/npy_f32_2x3.npy --outdir $d/w && \
$e '^generate: error: --z ' $g --z ${CMAKE_SOURCE_DIR}/tests/data/npy_f64_2x3x4.npy --outdir $d/z && \
$e 'unconditional' $g --seeds 0 --c ${CMAKE_SOURCE_DIR}/tests/data/npy_f32_2x3.npy --outdir $d/class && \
$e 'holds 4 images, but 2 images are' $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin \
--seeds 0-1 --grid 2x2 --outdir $d/pggan && \
test -z \"$(ls -A $d)\" && echo 'no folder left'")
# Images are written as they are made: a run stopped (SIGTERM) after its
# third image keeps the PNGs it finished, and its --raw, streamed into a
# temporary, leaves neither a file nor the temporary. (SIGTERM: a script's
# background job ignores SIGINT.)
gf_test(cpu.generate_stopped_keeps_finished_images
        COMMAND sh -c "d=${_gen}/stopped && rm -rf $d && mkdir -p $d && \
{ $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 0-99999 --outdir $d/out \
--raw $d/raw.npy > $d/log 2>&1 & pid=$!; } && i=0 && \
while [ ! -e $d/out/seed0002.png ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; \
kill -TERM $pid; wait $pid; echo \"exit status $?\"; \
[ $(ls $d/out | grep -c '^seed[0-9]*[.]png$') -ge 3 ] && echo 'finished images kept'; \
[ -z \"$(find $d -name '*.tmp')\" ] && echo 'no temporary'; [ -e $d/raw.npy ] || echo 'no raw'")
set_tests_properties(cpu.generate_stopped_keeps_finished_images PROPERTIES TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "exit status 143\nfinished images kept\nno temporary\nno raw")
# --projected-w renders any network's w, a conditional one's too (the label
# went into w), as generate.py does: it asked for --class, then refused it.
# --trunc and --class are ignored with a line, as generate.py ignores them
# (they were refused).
gf_test(cpu.generate_projected_w_conditional
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_gen}/projected_c && rm -rf $d && mkdir -p $d && \
'${GF_PYTHON3}' -c \"import numpy as np; w = np.random.RandomState(0).randn(1, 8, 16).astype(np.float32); \
np.savez('$d/pw.npz', w=w); np.save('$d/w.npy', w)\" && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin --projected-w $d/pw.npz --outdir $d/a \
--trunc 0.5 --class 2 > $d/a.log && grep -qx 'warn: --trunc is ignored when using --projected-w' $d/a.log && \
grep -qx 'warn: --class is ignored when using --projected-w' $d/a.log && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin --w $d/w.npy --outdir $d/b && \
cmp $d/a/proj00.png $d/b/img0000.png && echo same image")
set_tests_properties(cpu.generate_projected_w_conditional PROPERTIES PASS_REGULAR_EXPRESSION "same image" SKIP_RETURN_CODE 77)
# Given w are used as they are: --trunc-cutoff is refused with them, as --trunc is (it was ignored).
gf_expect_error(generate_w_trunc_cutoff "^generate: error: --trunc-cutoff does not apply to --w: given w are used as they are$" ""
                $<TARGET_FILE:generate> --network x.bin --w w.npy --trunc-cutoff 3 --outdir ${_gen}/bad)
# A generator of 2-channel images (converted; no dataset makes one) is refused
# before any image, naming img_channels: save_image_grid refused it after the
# first. calc_metrics refuses it before the data and the detector are read (it
# warned of "RGB" images, then failed after the whole real-image pass).
gf_test(cpu.generate_two_channel_generator
        COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${_gen}/two_channels && rm -rf $d && mkdir -p $d && \
'${GF_PYTHON3}' -c \"import sys, torch; sys.path.insert(0, '${CMAKE_SOURCE_DIR}/tools/reference'); import stylegan2_reference as ref; \
G = ref.Generator(z_dim=8, w_dim=8, img_resolution=8, img_channels=2, mapping_layers=1, channel_base=64, channel_max=8); \
torch.save({'G_ema': G.state_dict()}, '$d/g.pt')\" && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/g.pt $d/g.bin > /dev/null && \
sh ${GF_CLI_DIR}/expect_error.sh '^generate: error: .*/g.bin: the generator makes images of 2 channels \\(img_channels\\); PNGs are written of 1 \\(grey\\) or 3 \\(RGB\\)$' \
  $<TARGET_FILE:generate> --network $d/g.bin --seeds 0 --outdir $d/out && test ! -e $d/out && \
sh ${GF_CLI_DIR}/expect_error.sh '^calc_metrics: error: .*/g.bin makes images of 2 channels; the metrics take grey or RGB images ' \
  $<TARGET_FILE:calc_metrics> --network $d/g.bin --data ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip --metrics fid50k_full \
  --detector /nowhere.bin && echo refused")
set_tests_properties(cpu.generate_two_channel_generator PROPERTIES PASS_REGULAR_EXPRESSION "refused" SKIP_RETURN_CODE 77)
# --raw naming one of the run's own PNGs: the PNG replaced the raw file
# (exit 0, no .npy) or shared its temporary. Refused before any image.
gf_expect_error(generate_raw_is_an_output "^generate: error: --raw .*/clash/\\./seed0001.png: is one of the files this run writes to --outdir; give it another name$" ""
                sh -c "rm -rf ${_gen}/clash && $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 1 \
--outdir ${_gen}/clash --raw ${_gen}/clash/./seed0001.png; s=$?; test ! -e ${_gen}/clash && exit $s")
# (--outdir written with a trailing slash, not made yet: the same.)
gf_expect_error(generate_raw_is_an_output_slash "^generate: error: --raw .*/clash_slash/seed0001.png: is one of the files this run writes to --outdir; give it another name$" ""
                sh -c "rm -rf ${_gen}/clash_slash && $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 1 \
--outdir ${_gen}/clash_slash/ --raw ${_gen}/clash_slash/seed0001.png; s=$?; test ! -e ${_gen}/clash_slash && exit $s")
gf_expect_error(generate_raw_is_the_grid "^generate: error: --raw .*/grid.png: is one of the files this run writes to --outdir; give it another name$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --seeds 1-2 --grid 2x1
                --outdir ${_gen}/clash_grid --raw ${_gen}/clash_grid/grid.png)
# Style mixing writes each cell as style_mixing.py saves it, besides
# grid.png: <row>-<col>.png for a mix, <seed>-<seed>.png for an original
# (a seed in both lists: the mix, written last, as the official dict keeps
# it). Each file is its cell of the grid.
gf_test(cpu.generate_mixing_cells
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy, PIL' 2>/dev/null || exit 77; d=${_gen}/mix_cells && rm -rf $d && \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin --mix-rows 85,100 --mix-cols 55,85 --outdir $d && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I, os; d = '$d'; g = np.asarray(I.open(d + '/grid.png')); r = 32; \
rows, cols = [85, 100], [55, 85]; \
want = {'%d-%d.png' % (c, c): (0, x + 1) for x, c in enumerate(cols)}; \
want.update({'%d-%d.png' % (s, s): (y + 1, 0) for y, s in enumerate(rows)}); \
want.update({'%d-%d.png' % (s, c): (y + 1, x + 1) for y, s in enumerate(rows) for x, c in enumerate(cols)}); \
assert sorted(os.listdir(d)) == sorted(list(want) + ['grid.png']), os.listdir(d); \
assert all(np.array_equal(np.asarray(I.open(d + '/' + n)), g[y * r:(y + 1) * r, x * r:(x + 1) * r]) for n, (y, x) in want.items()); \
print('cells as the grid')\"")
set_tests_properties(cpu.generate_mixing_cells PROPERTIES PASS_REGULAR_EXPRESSION "cells as the grid" SKIP_RETURN_CODE 77)
# A conditional network without a label says its c_dim (it said "4 classes",
# which a network trained on label vectors has not) and both ways to give one.
gf_expect_error(generate_conditional_needs_label
                "^generate: error: the network is conditional \\(c_dim 4\\): pass --class K \\(the one-hot of class K, as generate.py\\) or --c \\(labels as they are\\)$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin --seeds 0 --outdir ${GF_TEST_RUNS}/bad)
gf_test(cpu.discriminate_conditional_needs_label
        COMMAND sh -c "d=${GF_TEST_RUNS}/cond_d && rm -rf $d && n=${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin && \
$<TARGET_FILE:generate> --network $n --seeds 0 --class 1 --raw $d/raw.npy --outdir $d > /dev/null && \
sh ${GF_CLI_DIR}/expect_error.sh '^discriminate: error: the network is conditional \\(c_dim 4\\): pass --c$' \
  $<TARGET_FILE:discriminate> --network $n --images $d/raw.npy --out $d/scores.npy && echo refused")
set_tests_properties(cpu.discriminate_conditional_needs_label PROPERTIES PASS_REGULAR_EXPRESSION "refused")
# Labels saved as integers or bools (np.eye(4, dtype=int)[k]) are read as the
# official networks read them (c.to(torch.float32)): the same scores and images
# as the float32 labels, in discriminate and generate.
gf_test(cpu.labels_as_integers
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy' 2>/dev/null || exit 77; d=${GF_TEST_RUNS}/int_labels && rm -rf $d && mkdir -p $d && \
n=${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin && \
'${GF_PYTHON3}' -c \"import numpy as np; np.save('$d/f32.npy', np.eye(4, dtype=np.float32)[[1, 3]]); \
np.save('$d/i64.npy', np.eye(4, dtype=np.int64)[[1, 3]]); np.save('$d/u8.npy', np.eye(4, dtype=np.uint8)[[1, 3]]); \
np.save('$d/bool.npy', np.eye(4, dtype=bool)[[1, 3]])\" && \
$<TARGET_FILE:generate> --network $n --seeds 0,1 --c $d/f32.npy --raw $d/raw.npy --outdir $d/f32 > /dev/null && \
$<TARGET_FILE:generate> --network $n --seeds 0,1 --c $d/i64.npy --raw $d/raw_i64.npy --outdir $d/i64 > /dev/null && \
cmp $d/raw.npy $d/raw_i64.npy && \
for t in f32 i64 u8 bool; do $<TARGET_FILE:discriminate> --network $n --images $d/raw.npy --c $d/$t.npy --out $d/s_$t.npy > /dev/null || exit 1; done && \
cmp $d/s_f32.npy $d/s_i64.npy && cmp $d/s_f32.npy $d/s_u8.npy && cmp $d/s_f32.npy $d/s_bool.npy && echo same as float labels")
set_tests_properties(cpu.labels_as_integers PROPERTIES PASS_REGULAR_EXPRESSION "same as float labels" SKIP_RETURN_CODE 77)
# Pixels become 8 bits as each family's official script makes them: PGGAN's
# generate_fake_images rounds half to even (tf.round), StyleGAN2's generate.py
# and v1's convert_images_to_uint8 truncate x * 127.5 + 128. The PGGAN run is
# long enough (500 images) to hold values the two rules make differently
# (exact halves); the checker counts them.
gf_test(cpu.generate_8_bit_as_official
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy, PIL' 2>/dev/null || exit 77; d=${_gen}/to8 && rm -rf $d && \
c='${GF_PYTHON3} ${GF_CLI_DIR}/png_8_bit.py' && t=${CMAKE_SOURCE_DIR}/tests/data && \
$<TARGET_FILE:generate> --network $t/pggan_32x1.bin --seeds 0-499 --grid 25x20 --raw $d/p.npy --outdir $d/p > /dev/null && \
$c tf_round $d/p.npy $d/p/grid.png 25 && \
$<TARGET_FILE:generate> --network $t/parity_32x3_orig.bin --class 1 --seeds 0-19 --grid 5x4 --raw $d/s.npy --outdir $d/s > /dev/null && \
$c truncate $d/s.npy $d/s/grid.png 5 && \
$<TARGET_FILE:generate> --network $t/stylegan_16x3.bin --seeds 0-19 --grid 5x4 --raw $d/v.npy --outdir $d/v > /dev/null && \
$c truncate $d/v.npy $d/v/grid.png 5")
set_tests_properties(cpu.generate_8_bit_as_official PROPERTIES SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "as the tf_round rule, [1-9][0-9]* values where the two rules differ\nas the truncate rule, [0-9]+ values where the two rules differ\nas the truncate rule, ")
# StyleGAN (v1) style mixing as the official generate_figures.py draws figure
# 3: the mapping's ws untruncated (the network's psi 0.7 applies to Gs.run,
# not there), on a white canvas; with --trunc, truncated as given.
gf_test(cpu.generate_stylegan_v1_mixing_as_figure
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy, PIL' 2>/dev/null || exit 77; d=${_gen}/v1_mix && rm -rf $d && \
n=${CMAKE_SOURCE_DIR}/tests/data/stylegan_16x3.bin && \
$<TARGET_FILE:generate> --network $n --mix-rows 1,2 --mix-cols 3 --outdir $d/mix > /dev/null && \
$<TARGET_FILE:generate> --network $n --seeds 1-3 --trunc 1 --outdir $d/plain > /dev/null && \
$<TARGET_FILE:generate> --network $n --mix-rows 1 --mix-cols 3 --trunc 0.5 --outdir $d/mix_t > /dev/null && \
$<TARGET_FILE:generate> --network $n --seeds 1 --trunc 0.5 --outdir $d/t > /dev/null && \
cmp $d/mix/1-1.png $d/plain/seed0001.png && cmp $d/mix/3-3.png $d/plain/seed0003.png && cmp $d/mix_t/1-1.png $d/t/seed0001.png && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I; g = np.asarray(I.open('$d/mix/grid.png')); \
assert (g[:16, :16] == 255).all(), 'corner not white'; print('untruncated, white corner')\"")
set_tests_properties(cpu.generate_stylegan_v1_mixing_as_figure PROPERTIES SKIP_RETURN_CODE 77
                     PASS_REGULAR_EXPRESSION "untruncated, white corner")
# An output file that is the program's standard output holds the data alone:
# the closing line goes to stderr (written through descriptor 1, it landed
# over the .npy's header with '>', after the data with '>>' or a pipe). The
# whole kind: every program with an output file flag (check_output_file). A
# device is no data: --raw /dev/null with stdout on /dev/null keeps the line
# on stdout (it moved to stderr).
gf_test(cpu.output_file_on_stdout_holds_data_alone
        COMMAND sh -c "d=${_gen}/on_stdout && rm -rf $d && mkdir -p $d && n=${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin && \
$<TARGET_FILE:generate> --network $n --seeds 0-1 --raw $d/file.npy --outdir $d/a > /dev/null && \
$<TARGET_FILE:generate> --network $n --seeds 0-1 --raw /dev/stdout --outdir $d/b > $d/redirected.npy 2> $d/err && \
cmp $d/file.npy $d/redirected.npy && grep -q '^generate: wrote 2 images' $d/err && \
$<TARGET_FILE:generate> --network $n --seeds 0-1 --raw /dev/stdout --outdir $d/c 2> /dev/null | cat > $d/piped.npy && \
cmp $d/file.npy $d/piped.npy && \
$<TARGET_FILE:export_weights> --in $n --net G_ema --out $d/g.bin > /dev/null && \
$<TARGET_FILE:export_weights> --in $n --net G_ema --out /dev/stdout > $d/g_stdout.bin 2> /dev/null && cmp $d/g.bin $d/g_stdout.bin && \
$<TARGET_FILE:discriminate> --network $n --images $d/file.npy --out $d/s.npy > /dev/null && \
$<TARGET_FILE:discriminate> --network $n --images $d/file.npy --out /dev/stdout > $d/s_stdout.npy 2> /dev/null && \
cmp $d/s.npy $d/s_stdout.npy && \
$<TARGET_FILE:generate> --network $n --seeds 0 --raw /dev/null --outdir $d/d > /dev/null 2> $d/dev_err && test ! -s $d/dev_err && \
echo data alone")
set_tests_properties(cpu.output_file_on_stdout_holds_data_alone PROPERTIES PASS_REGULAR_EXPRESSION "data alone")
# --interp makes its frames one at a time: a million frames start at once in
# a small address space (all the ws were made first: 4.5 GB for this network,
# 22 s before the first frame), and a stopped run keeps the frames it wrote.
gf_test(cpu.generate_interp_one_frame_at_a_time
        COMMAND sh -c "d=${_gen}/interp_long && rm -rf $d && mkdir -p $d && \
{ (ulimit -v 1500000; OMP_NUM_THREADS=1 MALLOC_ARENA_MAX=1 exec $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/fashion_mnist_small_G.bin \
--interp 1,2 --frames 1000000 --outdir $d/out) > $d/log 2>&1 & pid=$!; } && i=0 && \
while [ ! -e $d/out/frame0002.png ] && [ $i -lt 600 ]; do kill -0 $pid 2>/dev/null || break; sleep 0.1; i=$((i + 1)); done; \
kill -TERM $pid; wait $pid; echo \"exit status $?\"; cat $d/log; \
[ $(ls $d/out | grep -c '^frame[0-9]*[.]png$') -ge 3 ] && echo 'frames kept'")
set_tests_properties(cpu.generate_interp_one_frame_at_a_time PROPERTIES TIMEOUT 120
                     PASS_REGULAR_EXPRESSION "exit status 143\n.*frames kept")
# A label that overflows the network (--c of 3e38) is named among the inputs,
# not blamed on the weights ("damaged weights?").
gf_test(cpu.generate_overflowing_label_named
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy' 2>/dev/null || exit 77; d=${_gen}/c_overflow && rm -rf $d && mkdir -p $d && \
'${GF_PYTHON3}' -c \"import numpy as np; np.save('$d/c.npy', np.full((1, 4), 3e38, np.float32))\" && \
sh ${GF_CLI_DIR}/expect_error.sh '^generate: error: image 0 \\(seed0000.png\\) is not finite \\(NaN or inf\\): the inputs overflow the network \\(a huge --trunc, --z, --w or --c\\)$' \
  $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin --seeds 0 --c $d/c.npy --outdir $d/out && echo named")
set_tests_properties(cpu.generate_overflowing_label_named PROPERTIES PASS_REGULAR_EXPRESSION "named" SKIP_RETURN_CODE 77)
# A seed's z is numpy's RandomState(seed).randn(1, z_dim), as the official
# scripts draw it (it was a Philox draw: a seed never gave the official image
# of a converted network): --seeds equals --z with numpy's latents, each family.
foreach(_net "parity_32x3_c4 --class 2" stylegan_16x3 pggan_32x1)
  separate_arguments(_args UNIX_COMMAND "${_net}")
  list(GET _args 0 _name)
  list(REMOVE_AT _args 0)
  gf_test(cpu.generate_seeds_numpy_latents_${_name}
          COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/seed_latents.py $<TARGET_FILE:generate> ${_gen}/seed_latents_${_name}
                  ${CMAKE_SOURCE_DIR}/tests/data/${_name}.bin ${_args})
  set_tests_properties(cpu.generate_seeds_numpy_latents_${_name} PROPERTIES PASS_REGULAR_EXPRESSION
                       "seeds draw numpy's latents")
endforeach()
# PGGAN's latent-walk video (util_scripts.generate_interpolation_video):
# a 3x2 grid at zoom 2, 2 s at 15 fps with 0.5 s of smoothing, through a
# stand-in ffmpeg that keeps the frames; their first, middle and last
# equal the official recipe (numpy's draws, scipy's smoothing and zoom)
# rendered by generate --z (tests/cli/lerp_video_frames.py), and ffmpeg got
# moviepy's flags at 15 fps. Then 1.01 s at 10 fps: 10 frames of the walk,
# 11 written as moviepy writes them (the last twice), into the file a link
# leads to (the link kept).
set(_lv ${_gen}/lerp_video)
gf_test(cpu.generate_lerp_video
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import scipy' 2>/dev/null || exit 77; d=${_lv} && rm -rf $d && \
mkdir -p $d/fakebin && cp ${GF_CLI_DIR}/fake_ffmpeg.sh $d/fakebin/ffmpeg && \
FAKE_FFMPEG_DUMP=$d/frames FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=$d/fakebin:$PATH $<TARGET_FILE:generate> \
--network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video $d/out/walk.mp4 --duration 2 --fps 15 \
--smoothing 0.5 --grid 3x2 --zoom 2 --lerp-seed 7 && test \"$(cat $d/out/walk.mp4)\" = 'fake mp4' && \
paste -sd ' ' $d/ffmpeg.log | grep -q -- '-s 192x128 -pix_fmt rgb24 -r 15.00 -i - -an -vcodec libx264 -preset medium -b 16M -pix_fmt yuv420p -f mp4 file:/' && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/lerp_video_frames.py $<TARGET_FILE:generate> ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin \
$d/frames 2 15 0.5 7 3 2 2 8 $d/work && ln -s $d/out/target.mp4 $d/link.mp4 && \
FAKE_FFMPEG_DUMP=$d/frames11 FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=$d/fakebin:$PATH $<TARGET_FILE:generate> \
--network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video $d/link.mp4 --duration 1.01 --fps 10 && \
test -L $d/link.mp4 && test \"$(cat $d/out/target.mp4)\" = 'fake mp4' && \
'${GF_PYTHON3}' ${GF_CLI_DIR}/lerp_video_frames.py $<TARGET_FILE:generate> ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin \
$d/frames11 1.01 10 1 1000 1 1 1 8 $d/work11")
set_tests_properties(cpu.generate_lerp_video PROPERTIES SKIP_RETURN_CODE 77 PASS_REGULAR_EXPRESSION
                     "wrote .*walk.mp4 \\(30 frames of 192x128 at 15 fps\\).*lerp video frames match.*wrote .*link.mp4 \\(11 frames of 32x32 at 10 fps\\).*lerp video frames match")
# An ffmpeg that exits 0 without reading the frames: one line, the user's
# file as it was (the partial video was renamed over it) and no folder made.
gf_expect_error(generate_lerp_video_ffmpeg_stops "^generate: error: ffmpeg stopped reading the frames of .*/old.mp4 and exited 0 \\(the video is incomplete\\)$" ""
                sh -c "d=${_lv}_stops && rm -rf $d && mkdir -p $d/fakebin && cp ${GF_CLI_DIR}/fake_ffmpeg.sh $d/fakebin/ffmpeg && \
echo old > $d/old.mp4 && FAKE_FFMPEG_NO_READ=1 FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=$d/fakebin:$PATH $<TARGET_FILE:generate> \
--network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video $d/old.mp4 --duration 5 --fps 30; \
s=$? && { test \"$(cat $d/old.mp4)\" = old || { echo the video replaced the file; exit 2; }; } && \
FAKE_FFMPEG_NO_READ=1 FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=$d/fakebin:$PATH $<TARGET_FILE:generate> \
--network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video $d/new/walk.mp4 --duration 5 --fps 30 2>/dev/null; \
{ test ! -e $d/new || { echo folders left behind; exit 2; }; } && exit $s")
# SIGINT and SIGTERM while ffmpeg writes (the stand-in hangs without reading):
# generate dies of the signal and the folders made for the video go with its
# temporary (the temporaries' handler removes them, io::FolderGuard).
gf_cli_test(generate_lerp_video_interrupted EXPECT "^SIGINT: exit status 130, no folder$" "^SIGTERM: exit status 143, no folder$"
            COMMAND sh -c "d=${_lv}_interrupted && rm -rf $d && mkdir -p $d/fakebin && \
cp ${GF_CLI_DIR}/fake_ffmpeg.sh $d/fakebin/ffmpeg && for sig in INT TERM; do rm -rf $d/new $d/ffmpeg.log.pid; \
FAKE_FFMPEG_LOG=$d/ffmpeg.log FAKE_FFMPEG_HANG=1 PATH=$d/fakebin:$PATH env --default-signal=INT \
$<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video $d/new/deeper/walk.mp4 \
--duration 5 --fps 30 > $d/log 2>&1 & p=$!; \
i=0; while [ ! -e $d/ffmpeg.log.pid ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; \
test -d $d/new/deeper || { cat $d/log; echo no folder mid-video; kill $p; exit 1; }; \
kill -$sig $p; wait $p; rc=$?; test ! -e $d/new || { echo left: $(find $d/new); exit 1; }; \
echo SIG$sig: exit status $rc, no folder; done")
# A failing ffmpeg: one line, and the folders made for the video go again.
gf_expect_error(generate_lerp_video_ffmpeg_fails "^generate: error: ffmpeg failed writing .*/new/deeper/walk.mp4 \\(exit status 3\\)$" ""
                sh -c "d=${_lv}_fails && rm -rf $d && mkdir -p $d/fakebin && cp ${GF_CLI_DIR}/fake_ffmpeg.sh $d/fakebin/ffmpeg && \
FAKE_FFMPEG_EXIT=3 FAKE_FFMPEG_LOG=$d/ffmpeg.log PATH=$d/fakebin:$PATH $<TARGET_FILE:generate> \
--network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video $d/new/deeper/walk.mp4 --duration 0.2 --fps 10; \
s=$? && { test ! -e $d/new || { echo folders left behind; exit 2; }; } && exit $s")
# A full disk (/dev/full) names its reason: the PNGs written between the
# rows of --raw had left no errno for the end's check ("cannot write" alone).
gf_expect_error(generate_raw_disk_full "^generate: error: --raw: cannot write /dev/full: No space left on device$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --seeds 0-3 --raw /dev/full
                --outdir ${_gen}/raw_full)
gf_expect_error(generate_lerp_video_stylegan2 "^generate: error: --lerp-video applies to PGGAN networks \\(its util_scripts\\); .*parity_256x3.bin holds a StyleGAN2 generator$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/parity_256x3.bin --lerp-video ${_bad}/v.mp4)
gf_expect_error(generate_lerp_video_flag_alone "^generate: error: --fps needs --lerp-video$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --seeds 0 --fps 10)
gf_expect_error(generate_lerp_video_and_seeds "^generate: error: --seeds, --z, --w, --projected-w, --mix-rows/--mix-cols, --interp and --lerp-video each choose what to generate: give one$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --seeds 0 --lerp-video ${_bad}/v.mp4)
gf_expect_error(generate_lerp_video_no_ffmpeg "^generate: error: --lerp-video writes through the ffmpeg program, which is not on PATH: install ffmpeg$" ""
                /usr/bin/env PATH=${_bad}/nothing $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin
                --lerp-video ${_bad}/v.mp4)
# The video is written to a temporary and renamed: over a device that would
# put a plain file in its place (--lerp-video /dev/null did), so one is refused.
gf_expect_error(generate_lerp_video_device "^generate: error: --lerp-video /dev/null: not a plain file \\(a device, pipe or socket\\)" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video /dev/null)
gf_expect_error(generate_lerp_video_no_frame "^generate: error: --duration 0.01 at --fps 30 makes no frame$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video ${_bad}/v.mp4
                --duration 0.01)
# The rest of --lerp-video's refusals, each before any frame: flags of the
# image modes, a walk past a million frames, frames past 16384 pixels, a
# folder for the file, a StyleGAN (v1) network.
set(_lv_net --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin)
gf_expect_error(generate_lerp_video_outdir "^generate: error: --outdir does not apply to --lerp-video: the video is its one output$" ""
                $<TARGET_FILE:generate> ${_lv_net} --lerp-video ${_bad}/v.mp4 --outdir ${_bad})
gf_expect_error(generate_lerp_video_raw "^generate: error: --raw does not apply to --lerp-video: the video is its one output$" ""
                $<TARGET_FILE:generate> ${_lv_net} --lerp-video ${_bad}/v.mp4 --raw ${_bad}/r.npy)
gf_expect_error(generate_lerp_video_c "^generate: error: --c does not apply to --lerp-video; use --class$" ""
                $<TARGET_FILE:generate> ${_lv_net} --lerp-video ${_bad}/v.mp4 --c ${_bad}/c.npy)
gf_expect_error(generate_lerp_video_million "^generate: error: --duration 100000 at --fps 30 makes more than a million frames$" ""
                $<TARGET_FILE:generate> ${_lv_net} --lerp-video ${_bad}/v.mp4 --duration 100000)
gf_expect_error(generate_lerp_video_wide "^generate: error: --lerp-video: frames of 32000x32 pixels \\(--grid x resolution x --zoom\\); at most 16384 a side$" ""
                $<TARGET_FILE:generate> ${_lv_net} --lerp-video ${_bad}/v.mp4 --grid 1000x1)
gf_expect_error(generate_lerp_video_folder "^generate: error: --lerp-video .*/bad: a folder; give a file name$" ""
                sh -c "mkdir -p ${_bad} && exec $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/pggan_32x1.bin --lerp-video ${_bad}")
gf_expect_error(generate_lerp_video_stylegan "^generate: error: --lerp-video applies to PGGAN networks \\(its util_scripts\\); .*stylegan_16x3.bin holds a StyleGAN \\(v1\\) generator$" ""
                $<TARGET_FILE:generate> --network ${CMAKE_SOURCE_DIR}/tests/data/stylegan_16x3.bin --lerp-video ${_bad}/v.mp4)
