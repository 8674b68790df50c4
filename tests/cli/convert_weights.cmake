# tools/convert_weights.py (included from CMakeLists.txt). Its tests need a
# Python with PyTorch and report themselves skipped (77) without one.

# The converter's own tests, one file an area (tests/test_convert_weights_<area>.py, sharing
# tests/convert_weights_fixture.py), each its own entry so that ctest -j runs them side by side.
foreach(_area official_pickle restricted_pickle state_dicts input_files rosinality psp loss_networks output_files)
  add_test(NAME cpu.convert_weights_${_area}
           COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; \
exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_weights_${_area}.py")
  set_tests_properties(cpu.convert_weights_${_area} PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
endforeach()

# What the C++ loaders would refuse, refused at conversion in one line: config
# values (type, network size limit), tensor ranks, DEFLATE bombs in torch zips,
# TF StyleGAN2 static_kwargs against the variables (tests/test_convert_checks.py).
add_test(NAME cpu.convert_checks
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_checks.py")
set_tests_properties(cpu.convert_checks PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# StyleGAN (v1)'s Linear Separability classifiers: a folder of the 40 tiny
# celebahq-classifier-NN-<name>.pkl (tools/fixtures/make_ls_fixtures.py) converts to
# one .bin of their variables and D_kwargs; a missing or doubled index, a GAN
# pickle or G_paper in a classifier's place, a minibatch-stddev map or labels,
# and a SRC that is no folder are refused in one line, nothing written.
add_test(NAME cpu.convert_ls_classifiers
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; \
exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_ls_classifiers.py")
set_tests_properties(cpu.convert_ls_classifiers PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# The FID/IS Inception detector from a TorchScript archive (torch.jit.save of a
# stand-in with the official names; ~95 MB of random weights in a temporary
# folder, about 5 s): bit for bit, and the refusals.
add_test(NAME cpu.convert_inception
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_inception.py")
set_tests_properties(cpu.convert_inception PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# generate accepts what the converter writes: a bundle exported to a torch state
# dict, imported back, and turned into an image (conditional network, --class).
add_test(NAME cpu.generate_from_converted
         COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_convert && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py export ${CMAKE_SOURCE_DIR}/tests/data/parity_32x3_c4.bin \
$d/state.pt --net all && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/state.pt $d/net.bin --conv-clamp 1.5 && \
$<TARGET_FILE:generate> --network $d/net.bin --seeds 0 --class 1 --outdir $d/out && test -s $d/out/seed0000.png")
set_tests_properties(cpu.generate_from_converted PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# StyleGAN2 TensorFlow pickles (NVlabs/stylegan2, state version 4): the mapping
# checks in tests/test_convert_stylegan2_tf.py (tensors, the TF semantics,
# refusals); then the parity network written as such a pickle
# (tools/fixtures/make_stylegan2_tf_pickle.py) and imported generates and scores what
# the network itself does (truncation, const noise) to 1e-4 relative.
add_test(NAME cpu.convert_stylegan2_tf
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_stylegan2_tf.py")
set_tests_properties(cpu.convert_stylegan2_tf PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
set(_sg2tf_net ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin)
set(_sg2tf_gen "--seeds 0-3 --trunc 0.7 --noise-mode const")
add_test(NAME cpu.generate_from_stylegan2_tf_pickle
         COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_convert_sg2tf && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/fixtures/make_stylegan2_tf_pickle.py $d/net.pkl --from ${_sg2tf_net} && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/net.pkl $d/net.bin && \
$<TARGET_FILE:generate> --network ${_sg2tf_net} ${_sg2tf_gen} --raw $d/want.npy --outdir $d/want && \
$<TARGET_FILE:generate> --network $d/net.bin ${_sg2tf_gen} --raw $d/got.npy --outdir $d/got && \
$<TARGET_FILE:discriminate> --network ${_sg2tf_net} --images $d/want.npy --out $d/want_scores.npy && \
$<TARGET_FILE:discriminate> --network $d/net.bin --images $d/want.npy --out $d/got_scores.npy && \
'${GF_PYTHON3}' -c \"import numpy as n
for k in ('', '_scores'):
    a, b = n.load('$d/got' + k + '.npy'), n.load('$d/want' + k + '.npy')
    e = abs(a - b).max() / abs(b).max()
    print('images' if not k else 'scores', list(a.shape), 'relative error', e)
    assert a.shape == b.shape and e <= 1e-4
print('the imported network matches the original')\"")
set_tests_properties(cpu.generate_from_stylegan2_tf_pickle PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# Bad input: a pickle without one of Gs's variables is refused with one line
# (exit status 1), and no bundle is written.
add_test(NAME cpu.convert_stylegan2_tf_missing_variable
         COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_convert_sg2tf_bad && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/fixtures/make_stylegan2_tf_pickle.py $d/net.pkl --from ${_sg2tf_net} \
--drop Gs:synthesis/8x8/Conv0_up/mod_bias && \
sh ${GF_CLI_DIR}/expect_error.sh '^convert_weights: error: .*net.pkl: Gs.synthesis: missing variable 8x8/Conv0_up/mod_bias$' \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/net.pkl $d/net.bin && test ! -e $d/net.bin")
set_tests_properties(cpu.convert_stylegan2_tf_missing_variable PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
# DST naming SRC (through another path or a link) is refused before anything
# is read: the written file would replace the network it came from.
add_test(NAME cpu.convert_weights_output_is_input
         COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_convert_same && rm -rf $d && mkdir -p $d && \
[ -x '${GF_PYTHON3}' ] || exit 77; cp ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin $d/net.bin && ln -s net.bin $d/link.bin && \
sh ${GF_CLI_DIR}/expect_error.sh '^convert_weights: error: .*/net.bin is the input file. choose another name$' \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py export $d/link.bin $d/./net.bin && \
sh ${GF_CLI_DIR}/expect_error.sh '^convert_weights: error: .*/net.bin is the input file. choose another name$' \
'${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tools/convert_weights.py import $d/net.bin $d/net.bin && \
cmp $d/net.bin ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin")
set_tests_properties(cpu.convert_weights_output_is_input PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# StyleGAN2-ADA's VGG16 (PPL, pr50k3, the projector) from torchvision's VGG16
# state dict and LPIPS's vgg.pth, as synthetic torch.save files (widths / 8):
# bit for bit, and the refusals (about 10 s).
add_test(NAME cpu.convert_vgg16
         COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${CMAKE_SOURCE_DIR}/tests/test_convert_vgg16.py")
set_tests_properties(cpu.convert_vgg16 PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

# convert_weights with its output on standard output keeps its lines off the
# data, as the C++ programs do (check_output_file): export to /dev/stdout
# redirected to a file equals export to the file, and import likewise ("wrote
# G_ema to /dev/stdout" landed over the start of the data).
add_test(NAME cpu.convert_weights_output_on_stdout
         COMMAND sh -c "d=${CMAKE_BINARY_DIR}/test_convert_stdout && rm -rf $d && mkdir -p $d && \
{ '${GF_PYTHON3}' -c 'import torch' 2>/dev/null || exit 77; } && c='${GF_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/convert_weights.py' && \
$c export ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin $d/file.pt > /dev/null && \
$c export ${CMAKE_SOURCE_DIR}/tests/data/parity_32x1.bin /dev/stdout > $d/stdout.pt 2> $d/err && cmp $d/file.pt $d/stdout.pt && \
grep -q '^wrote G_ema to /dev/stdout$' $d/err && \
$c import $d/file.pt $d/file.bin > /dev/null && $c import $d/file.pt /dev/stdout > $d/stdout.bin 2> /dev/null && \
cmp $d/file.bin $d/stdout.bin && echo data alone")
set_tests_properties(cpu.convert_weights_output_on_stdout PROPERTIES LABELS cpu SKIP_RETURN_CODE 77 PASS_REGULAR_EXPRESSION "data alone")
