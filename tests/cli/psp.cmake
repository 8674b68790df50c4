# psp (included from CMakeLists.txt; helpers in helpers.cmake): encode and mix on the small pSp fixture
# (tests/data/psp_gradual.bin, 32 px input and output), reading a .zip of
# images of other sizes (resized as pSp resizes). The latents psp encode
# writes re-render through generate --w, bit for bit, from the pSp file itself
# and from its decoder exported by export_weights.
# The bad-input tests (tests/program_runs.h) run psp too.
if(NOT GF_CUDA_EMU)  # the bad-input tests': the emulated build compiles them not
  add_dependencies(gf_tests psp)
endif()

set(_psp ${CMAKE_BINARY_DIR}/test_psp)
set(_psp_mix ${CMAKE_BINARY_DIR}/test_psp_mix)
set(_pnet ${CMAKE_SOURCE_DIR}/tests/data/psp_gradual.bin)
set(_pimgs ${CMAKE_SOURCE_DIR}/tests/data/dataset_fixture.zip)

gf_cli_test(psp_encode FRESH ${_psp} EXPECT "psp encode: 3 images -> .*latents.npy \\[3, 8, 16\\]"
            FIXTURES_SETUP psp_encoded
            COMMAND sh -c "$<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir ${_psp}/enc \
--batch 1 --couple --raw ${_psp}/enc_raw.npy && \
test -s ${_psp}/enc/latents.npy && test -s ${_psp}/enc/inference_results/sub_b.png && \
test -s ${_psp}/enc/inference_coupled/c.png && test \"$(cat ${_psp}/enc/names.txt | tr '\\n' ' ')\" = 'a c sub_b '")

gf_test(cpu.psp_latents_through_generate FIXTURES_REQUIRED psp_encoded
        COMMAND sh -c "$<TARGET_FILE:generate> --network ${_pnet} --w ${_psp}/enc/latents.npy --noise-mode const \
--raw ${_psp}/gen_raw.npy --outdir ${_psp}/gen && cmp ${_psp}/enc_raw.npy ${_psp}/gen_raw.npy && \
$<TARGET_FILE:export_weights> --in ${_pnet} --net G_ema --out ${_psp}/decoder.bin && \
$<TARGET_FILE:generate> --network ${_psp}/decoder.bin --w ${_psp}/enc/latents.npy --noise-mode const \
--raw ${_psp}/gen_raw2.npy --outdir ${_psp}/gen2 && cmp ${_psp}/enc_raw.npy ${_psp}/gen_raw2.npy")

# An .npy of images outside [-1, 1] (pixels in [0, 255], a generator's raw
# outputs) is encoded as it is, with a warning that names the range; one
# inside is encoded without one (the [0, 255] case gave latents without a word),
# under a .NPY name too (refused as "not a folder or a .zip" before).
gf_test(cpu.psp_npy_scale FIXTURES_REQUIRED psp_encoded
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy' 2>/dev/null || exit 77; d=${_psp} && rm -rf $d/raw_in $d/in_range && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images $d/enc_raw.npy --outdir $d/raw_in > $d/raw_in.log 2>&1 && \
grep -q '^psp: warning: --images .*/enc_raw.npy: values from -[0-9.]* to [0-9.]*, outside \\[-1, 1\\], .*: encoded as they are$' $d/raw_in.log && \
grep -q '^psp encode: 3 images -> ' $d/raw_in.log && \
'${GF_PYTHON3}' -c \"import numpy as np; np.save('$d/in_range.npy', np.clip(np.load('$d/enc_raw.npy'), -1, 1))\" && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images $d/in_range.npy --outdir $d/in_range > $d/in_range.log 2>&1 && \
! grep -q warning $d/in_range.log && cp $d/in_range.npy $d/IN_RANGE.NPY && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images $d/IN_RANGE.NPY --outdir $d/in_range_upper > /dev/null && \
cmp $d/in_range/latents.npy $d/in_range_upper/latents.npy && echo scale checked")
set_tests_properties(cpu.psp_npy_scale PROPERTIES PASS_REGULAR_EXPRESSION "scale checked" SKIP_RETURN_CODE 77)

# latents.npy, names.txt and --raw pair up row by row: a run that fails on
# the last of them (a full disk: /dev/full) replaces none, so the folder
# keeps the earlier run's latents with its names (2 images), not 3 rows of
# latents under 2 names.
gf_test(cpu.psp_encode_outputs_together FIXTURES_REQUIRED psp_encoded
        COMMAND sh -c "d=${_psp}/together && rm -rf $d && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir $d --no-images --n-images 2 > /dev/null && \
cp $d/latents.npy $d/before.npy && \
! $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir $d --no-images --raw /dev/full 2> $d/err && \
grep -q '^psp encode: error: --raw: cannot write /dev/full: No space left on device$' $d/err && \
cmp $d/latents.npy $d/before.npy && test \"$(cat $d/names.txt | tr '\\n' ' ')\" = 'a c ' && \
test -z \"$(ls $d | grep tmp)\" && echo outputs kept together")
set_tests_properties(cpu.psp_encode_outputs_together PROPERTIES PASS_REGULAR_EXPRESSION "outputs kept together")

gf_cli_test(psp_mix FRESH ${_psp_mix} EXPECT "psp mix: 3 images x 2 outputs"
            COMMAND sh -c "$<TARGET_FILE:psp> mix --network ${_pnet} --images ${_pimgs} --outdir ${_psp_mix} \
--latent-mask 4-7 --n-outputs 2 --mix-alpha 1.5 --resize-outputs && test -s ${_psp_mix}/style_mixing/a.png")

# latents.npy a folder, inference_results a file: refused before any image
# is encoded (the folder case failed after every PNG was written).
gf_expect_error(psp_output_kind_clash "^psp encode: error: --outdir .*/clash: .*/clash/latents.npy is a folder, where the file latents.npy goes$" ""
                sh -c "rm -rf ${CMAKE_BINARY_DIR}/test_psp_clash/clash && mkdir -p ${CMAKE_BINARY_DIR}/test_psp_clash/clash/latents.npy && \
exec $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir ${CMAKE_BINARY_DIR}/test_psp_clash/clash")
gf_expect_error(psp_output_folder_is_file "^psp encode: error: --outdir .*/clash2: .*/clash2/inference_results is a file, where the folder inference_results goes$" ""
                sh -c "rm -rf ${CMAKE_BINARY_DIR}/test_psp_clash/clash2 && mkdir -p ${CMAKE_BINARY_DIR}/test_psp_clash/clash2 && touch ${CMAKE_BINARY_DIR}/test_psp_clash/clash2/inference_results && \
exec $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir ${CMAKE_BINARY_DIR}/test_psp_clash/clash2")
gf_expect_error(psp_no_command "^psp: error: expected a command, encode, mix or losses" "" $<TARGET_FILE:psp>)
gf_expect_error(psp_unknown_command "^psp: error: unknown command 'decode'" "" $<TARGET_FILE:psp> decode)
gf_expect_error(psp_not_psp "^psp encode: error: .*parity_32x1.bin: not a pSp network" ""
                $<TARGET_FILE:psp> encode --network ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin
                --images ${_pimgs} --outdir ${_psp}/bad)
gf_expect_error(psp_mask_range "^psp mix: error: --latent-mask: latent 8 is outside \\[0, 8\\)" ""
                $<TARGET_FILE:psp> mix --network ${_pnet} --images ${_pimgs} --latent-mask 2,8 --outdir ${_psp}/bad)
gf_expect_error(psp_npy_shape "^psp encode: error: .*npy_f32_2x3.npy: shape \\[2, 3\\], expected \\[N, 3, 32, 32\\]" ""
                $<TARGET_FILE:psp> encode --network ${_pnet} --images ${CMAKE_SOURCE_DIR}/tests/data/npy_f32_2x3.npy
                --outdir ${_psp}/bad)
gf_expect_error(psp_missing_images "^psp encode: error: .*no-such-folder: no such file or folder" ""
                $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_psp}/no-such-folder --outdir ${_psp}/bad)
# --images given one image, or a file that is neither image nor zip: named as
# such, not as a broken zip (data/dataset.cpp, shared with train_stylegan --data).
gf_expect_error(psp_images_single_image "^psp encode: error: .*/a.png: not a folder or a .zip of images \\(one image: give the folder that holds it\\)$"
                psp_encoded $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_psp}/enc/inference_results/a.png
                --outdir ${_psp}/bad)
gf_expect_error(psp_images_not_zip "^psp encode: error: .*parity_32x1.bin: not a folder or a .zip of images$" ""
                $<TARGET_FILE:psp> encode --network ${_pnet} --images ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin
                --outdir ${_psp}/bad)
gf_expect_error(psp_mix_outdir_is_file "^psp mix: error: --outdir .*/parity_32x1.bin/style_mixing: Not a directory$" ""
                $<TARGET_FILE:psp> mix --network ${_pnet} --images ${_pimgs} --latent-mask 4-7
                --outdir ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin)
# A folder without one readable image: one line, naming how many were skipped and the first.
gf_expect_error(psp_images_none_readable
                "^psp encode: error: .*/tests/cli: no images the decoders here read .*. skipped [0-9]+ files, e.g. .*/tests/cli/[a-z_]+[.](cmake|sh): "
                "" $<TARGET_FILE:psp> encode --network ${_pnet} --images ${CMAKE_SOURCE_DIR}/tests/cli --outdir ${_psp}/bad)
# Two inputs of one output name (x.png and x.jpg) are refused before any
# work, not written over one another in inference_results/ and names.txt.
gf_expect_error(psp_images_same_name "^psp encode: error: .*/same_name: .*x.jpg and .*x.png would both be named 'x' \\(outputs <name>.png, names.txt\\): rename one$"
                psp_encoded sh -c "rm -rf ${_psp}/same_name ${_psp}/same_out && mkdir -p ${_psp}/same_name && \
cp ${_psp}/enc/inference_results/a.png ${_psp}/same_name/x.png && cp ${_psp}/enc/inference_results/a.png ${_psp}/same_name/x.jpg && \
exec $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_psp}/same_name --outdir ${_psp}/same_out")

# The side-by-side images' input panel as pSp's scripts make it (8-bit
# first, then PIL's default bicubic resize; it was a bilinear resize of the
# floats), image 0 coupled without --couple and stats.txt as inference.py.
gf_test(cpu.psp_panels_as_psp
        COMMAND ${GF_PYTHON3} ${GF_CLI_DIR}/psp_panels.py $<TARGET_FILE:psp> ${_pnet} ${_pimgs} ${_psp}/panels)
set_tests_properties(cpu.psp_panels_as_psp PROPERTIES PASS_REGULAR_EXPRESSION "as pSp's scripts make them" SKIP_RETURN_CODE 77)

# psp encode --latent-mask (inference.py's): each image's codes at the mask
# come from a random w, the others are the encoder's; --mix-alpha 0 keeps
# the encoder's everywhere.
gf_test(cpu.psp_encode_latent_mask FIXTURES_REQUIRED psp_encoded
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy' 2>/dev/null || exit 77; d=${_psp}/mask && rm -rf $d && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir $d/mixed --latent-mask 4-7 --seed 3 > /dev/null && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --outdir $d/alpha0 --latent-mask 4-7 --mix-alpha 0 --no-images > /dev/null && \
'${GF_PYTHON3}' -c \"import numpy as np; a = np.load('${_psp}/enc/latents.npy'); m = np.load('$d/mixed/latents.npy'); \
z = np.load('$d/alpha0/latents.npy'); keep = [0, 1, 2, 3]; \
assert np.array_equal(m[:, keep], a[:, keep]), 'unmasked codes changed'; \
assert (m[:, 4:8] != a[:, 4:8]).any(axis=(1, 2)).all(), 'masked codes kept'; \
assert not np.allclose(m[0, 4:8], m[1, 4:8]), 'one random w for the batch, not one per image'; \
assert np.allclose(z, a, atol=1e-6), 'alpha 0 changed the codes'; print('mask as inference.py')\" && \
test -s $d/mixed/inference_results/a.png")
set_tests_properties(cpu.psp_encode_latent_mask PROPERTIES PASS_REGULAR_EXPRESSION "mask as inference.py" SKIP_RETURN_CODE 77)

# pSp's own names for flags named otherwise here say which flag to give
# (the shared names work in pSp's underscore spelling, e.g. --n_images).
gf_expect_error(psp_official_test_batch_size "^psp encode: error: --test_batch_size is pSp's; here it is --batch N$" ""
                $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --test_batch_size 4 --outdir ${_psp}/bad)
gf_cli_test(psp_official_underscore_names FRESH ${_psp}/underscore EXPECT "psp encode: 1 image -> "
            COMMAND $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --n_images 1 --resize_outputs
                    --outdir ${_psp}/underscore)
# --raw naming latents.npy (or names.txt, stats.txt) in --outdir: refused
# before any image is encoded (it failed after all of them, having written
# the PNGs, on the set's duplicate name).
gf_expect_error(psp_raw_is_an_output "^psp encode: error: --raw .*/raw_clash/latents.npy: is one of the files this run writes to --outdir; give it another name$" ""
                sh -c "rm -rf ${_psp}/raw_clash && $<TARGET_FILE:psp> encode --network ${_pnet} --images ${_pimgs} --n-images 1 \
--outdir ${_psp}/raw_clash --raw ${_psp}/raw_clash/latents.npy; s=$?; test ! -e ${_psp}/raw_clash && exit $s")

# psp losses against pSp's calc_losses_on_images.py semantics
# (tools/reference/psp_losses_reference.py): results of several sizes named .png and
# .jpg, a grey one; ground truths under the '.png' -> '.jpg' name, one found
# under its own name. PNG bytes under every name: JPEG's decoders differ by
# a level or a few (README), which LPIPS tells apart. 5 pairs with --batch-size 4 (the official
# default): the last is left out, as the DataLoader's drop_last leaves it.
set(_pl ${CMAKE_BINARY_DIR}/test_psp_losses)
set(_pl_ref "'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/reference/psp_losses_reference.py")
gf_cli_test(psp_losses FRESH ${_pl}
            EXPECT "^Finished with  .*/exp/results$" "^Average loss is [0-9.]+\\+-[0-9.]+$"
                   "^psp losses: 1 image left out \\(the last by name\\), as the official drop_last does with --batch-size 4$"
                   "^psp_losses_reference: 4 scores within 1e-4 and 'Average loss is [0-9.]+\\+-[0-9.]+' equal$"
                   "^psp_losses_reference: 5 scores within 1e-4 and 'Average loss is [0-9.]+\\+-[0-9.]+' equal$"
            COMMAND sh -c "'${GF_PYTHON3}' -c 'import PIL, numpy, torch' 2>/dev/null || exit 77; d=${_pl} && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I, os
rng = np.random.RandomState(5)
os.makedirs('$d/exp/results'); os.makedirs('$d/gt')
for i, (w, h) in enumerate([(64, 64), (80, 48), (256, 256), (40, 70), (96, 96)]):
    gt = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
    res = np.clip(gt.astype(int) + rng.randint(-40, 41, gt.shape), 0, 255).astype(np.uint8)
    I.fromarray(gt).save('$d/gt/%d.jpg' % i if i != 3 else '$d/gt/%d.png' % i, format='PNG')
    im = I.fromarray(res) if i != 1 else I.fromarray(res[..., 0])
    im.save('$d/exp/results/%d.%s' % (i, 'jpg' if i == 2 else 'png'), format='PNG')
open('$d/exp/results/notes.txt', 'w').write('not an image')\" && \
for m in lpips l2; do $<TARGET_FILE:psp> losses --mode $m --data-path $d/exp/results --gt-path $d/gt \
$([ $m = lpips ] && echo --lpips ${CMAKE_SOURCE_DIR}/tests/data/psp_lpips.bin) && \
${_pl_ref} --mode $m --data_path $d/exp/results --gt_path $d/gt --ours $d/exp/inference_metrics \
$([ $m = lpips ] && echo --lpips ${CMAKE_SOURCE_DIR}/tests/data/psp_lpips.bin) || exit 1; done && \
$<TARGET_FILE:psp> losses --mode l2 --data-path $d/exp/results --gt-path $d/gt --batch-size 1 > /dev/null && \
${_pl_ref} --mode l2 --data_path $d/exp/results --gt_path $d/gt --batch_size 1 --ours $d/exp/inference_metrics && \
test \"$(LC_ALL=C ls $d/exp/inference_metrics | paste -sd ' ' -)\" = 'scores_l2.json scores_lpips.json stat_l2.txt stat_lpips.txt'")
set_tests_properties(cpu.psp_losses PROPERTIES SKIP_RETURN_CODE 77)
gf_expect_error(psp_losses_no_gt "^psp losses: error: --gt-path .*/nowhere: not a folder$" ""
                $<TARGET_FILE:psp> losses --mode l2 --data-path ${CMAKE_SOURCE_DIR}/tests/data --gt-path ${_pl}/nowhere)
# A folder named like a result (sub.png) is named as a folder (it was
# reported as a result without its ground truth in --gt-path).
gf_test(cpu.psp_losses_folder_named_png
        COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_psp_losses_folder && rm -rf $d && mkdir -p $d/res/sub.png $d/gt && \
sh ${GF_CLI_DIR}/expect_error.sh '^psp losses: error: --data-path .*/res: sub.png is a folder named like a result image. rename or move it$' \
$<TARGET_FILE:psp> losses --mode l2 --data-path $d/res --gt-path $d/gt")
set_tests_properties(cpu.psp_losses_folder_named_png PROPERTIES PASS_REGULAR_EXPRESSION "^psp losses: error: [^\n]*sub.png is a folder")
gf_expect_error(psp_losses_needs_lpips "^psp losses: error: --mode lpips needs --lpips FILE.bin: " ""
                $<TARGET_FILE:psp> losses --data-path x --gt-path y)
# A --mix-alpha that extrapolates the codes past float32 names itself beside
# the network (the line blamed the weights alone).
gf_expect_error(psp_mix_alpha_overflow
                "^psp mix: error: the mixed pixels of a are not finite \\(NaN or inf\\): the network .*psp_gradual.bin overflows \\(damaged weights\\?\\), or --mix-alpha 1e39 extrapolates the codes past float32's range$" ""
                $<TARGET_FILE:psp> mix --network ${_pnet} --images ${_pimgs} --latent-mask 0-7 --mix-alpha 1e39 --outdir ${_psp}/alpha_overflow)
# tensor2im in float32, as pSp's NumPy array computes it: an input of -0.2
# (float32) is (x + 1) / 2 * 255 = 102.0f exactly, 102 in the coupled panel
# (in double it was 101.99..., truncated to 101). And names.txt keeps one
# line per latents row: a file name's newline is written as \n (it split the
# line and shifted every later name), U+2028 as \u2028 (Python's splitlines
# splits there too), a backslash doubled (so that a name holding the two
# characters \n reads otherwise).
gf_test(cpu.psp_outputs_as_psp_writes_them
        COMMAND sh -c "'${GF_PYTHON3}' -c 'import numpy, PIL' 2>/dev/null || exit 77; d=${_psp}/as_psp && rm -rf $d && mkdir -p $d/imgs && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I; d = '$d'; np.save(d + '/m02.npy', np.full((1, 3, 32, 32), -0.2, np.float32)); \
[I.fromarray(np.full((32, 32, 3), v, np.uint8)).save(d + '/imgs/' + n) for n, v in (('a.png', 10), ('new' + chr(10) + 'line.png', 20), ('p' + chr(0x2028) + 'q.png', 22), ('x' + chr(92) + 'y.png', 25), ('z.png', 30))]\" && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images $d/m02.npy --outdir $d/half --couple > /dev/null && \
$<TARGET_FILE:psp> encode --network ${_pnet} --images $d/imgs --outdir $d/names --no-images > /dev/null && \
'${GF_PYTHON3}' -c \"import numpy as np, PIL.Image as I; d = '$d'; \
a = np.asarray(I.open(d + '/half/inference_coupled/img0000.png'))[:, :32]; assert (a == 102).all(), np.unique(a); \
names = open(d + '/names/names.txt').read().splitlines(); rows = np.load(d + '/names/latents.npy').shape[0]; \
assert names == ['a', 'new' + chr(92) + 'nline', 'p' + chr(92) + 'u2028q', 'x' + 2 * chr(92) + 'y', 'z'] and rows == 5, (names, rows); print('as pSp')\"")
set_tests_properties(cpu.psp_outputs_as_psp_writes_them PROPERTIES PASS_REGULAR_EXPRESSION "as pSp" SKIP_RETURN_CODE 77)
