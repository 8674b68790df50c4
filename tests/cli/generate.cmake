# generate, discriminate and export_weights (included from CMakeLists.txt).

# tests/test_tools.cpp runs the programs from gf_tests and compares their
# output with the in-process networks: it needs them built, and where they are.
add_dependencies(gf_tests generate discriminate export_weights train_stylegan)
target_compile_definitions(gf_tests PRIVATE GF_TOOLS_DIR="$<TARGET_FILE_DIR:generate>")

set(_gen ${CMAKE_BINARY_DIR}/test_gen)
set(_newest_snapshot "f=$(ls -t ${CMAKE_BINARY_DIR}/test_runs/*/network-snapshot-*.bin | head -n 1)")
set(_z ${CMAKE_SOURCE_DIR}/tests/data/z_2x16.npy)  # two latents for the tiny config (z_dim 16)

# generate turns the newest snapshot of the smoke run into a grid.
add_test(NAME cpu.generate_from_snapshot
         COMMAND sh -c "${_newest_snapshot} && \
$<TARGET_FILE:generate> --network \"$f\" --seeds 0-3 --grid 2x2 --trunc 0.7 --outdir ${_gen} && \
test -s ${_gen}/grid.png")
set_tests_properties(cpu.generate_from_snapshot PROPERTIES LABELS cpu FIXTURES_REQUIRED trained_snapshot)

# export_weights takes G_ema and D out of the snapshot; generating from the
# exported G_ema gives the same raw images, byte for byte, as from the bundle.
add_test(NAME cpu.export_weights_from_snapshot
         COMMAND sh -c "${_newest_snapshot} && mkdir -p ${_gen} && \
$<TARGET_FILE:export_weights> --in \"$f\" --net G_ema --out ${_gen}/G_ema.bin && \
$<TARGET_FILE:export_weights> --in \"$f\" --net D --out ${_gen}/D.bin")
set_tests_properties(cpu.export_weights_from_snapshot PROPERTIES LABELS cpu FIXTURES_REQUIRED trained_snapshot
                     FIXTURES_SETUP exported_networks)
add_test(NAME cpu.generate_raw_exported_equals_bundle
         COMMAND sh -c "${_newest_snapshot} && \
$<TARGET_FILE:generate> --network \"$f\" --z ${_z} --trunc 0.7 --raw ${_gen}/raw_bundle.npy --outdir ${_gen}/z_bundle && \
$<TARGET_FILE:generate> --network ${_gen}/G_ema.bin --z ${_z} --trunc 0.7 --raw ${_gen}/raw.npy --outdir ${_gen}/z && \
cmp ${_gen}/raw_bundle.npy ${_gen}/raw.npy && test -s ${_gen}/z/img0001.png")
set_tests_properties(cpu.generate_raw_exported_equals_bundle PROPERTIES LABELS cpu
                     FIXTURES_REQUIRED "trained_snapshot;exported_networks" FIXTURES_SETUP generated_raw)

# discriminate scores the generated images: two finite logits.
add_test(NAME cpu.discriminate_generated
         COMMAND discriminate --network ${_gen}/D.bin --images ${_gen}/raw.npy --out ${_gen}/logits.npy)
set_tests_properties(cpu.discriminate_generated PROPERTIES LABELS cpu FIXTURES_REQUIRED "exported_networks;generated_raw"
                     PASS_REGULAR_EXPRESSION "^discriminate: wrote logits \\[2, 1\\] .*\\(2 of 2 finite\\)")

# Bad input: a non-zero exit and one line naming the problem.
function(gf_expect_error name regex fixtures)
  add_test(NAME cpu.${name} COMMAND sh ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/expect_error.sh ${ARGN})
  set_tests_properties(cpu.${name} PROPERTIES LABELS cpu PASS_REGULAR_EXPRESSION "${regex}")
  if(fixtures)
    set_tests_properties(cpu.${name} PROPERTIES FIXTURES_REQUIRED "${fixtures}")
  endif()
endfunction()
gf_expect_error(generate_wrong_z_width "^generate: error: --z .*npy_f32_2x3.npy: shape \\[2, 3\\], expected \\[N, 16\\]"
                exported_networks $<TARGET_FILE:generate> --network ${_gen}/G_ema.bin
                --z ${CMAKE_SOURCE_DIR}/tests/data/npy_f32_2x3.npy --outdir ${_gen}/bad)
gf_expect_error(generate_missing_network "^generate: error: .*no-such-network.bin: cannot open" ""
                $<TARGET_FILE:generate> --network ${_gen}/no-such-network.bin --outdir ${_gen}/bad)
gf_expect_error(generate_class_unconditional "^generate: error: --class given, but the network is unconditional"
                exported_networks $<TARGET_FILE:generate> --network ${_gen}/G_ema.bin --class 1 --outdir ${_gen}/bad)
gf_expect_error(generate_grid_mismatch "^generate: error: --grid 2x2 holds 4 images, but 3 are to be generated"
                exported_networks $<TARGET_FILE:generate> --network ${_gen}/G_ema.bin --seeds 0-2 --grid 2x2
                --outdir ${_gen}/bad)
gf_expect_error(generate_conflicting_modes "^generate: error: --seeds, --z, .* give one" ""
                $<TARGET_FILE:generate> --network ${_gen}/G_ema.bin --seeds 1 --z ${_z})
gf_expect_error(discriminate_wrong_image_shape "^discriminate: error: --images .*z_2x16.npy: shape \\[2, 16\\], but the discriminator reads \\[N, 1, 32, 32\\]"
                exported_networks $<TARGET_FILE:discriminate> --network ${_gen}/D.bin --images ${_z} --out ${_gen}/bad.npy)
gf_expect_error(export_weights_absent_network "^export_weights: error: .*G_ema.bin: holds no D network \\(it holds: G_ema\\)"
                exported_networks $<TARGET_FILE:export_weights> --in ${_gen}/G_ema.bin --net D --out ${_gen}/bad.bin)
