# Damaged and hostile input files (tests/cli/hostile_inputs.py makes each from
# a small committed fixture): one line naming the file and exit status 1, or
# for the report a page written quickly. Skipped (77) without a Python 3.
foreach(_case bin_metadata_deep_json bin_many_tensors bin_header_nul_bom bin_metadata_type_named bin_metadata_int_range bin_metadata_value_range bin_metadata_huge_network not_a_network bin_nan_weight bin_overflowing_weight psp_damaged_encoder bin_name_newline dataset_json_deep png_bad_crc png_too_large resume_config_named
              mnist_no_images report_extreme_values report_deep_options report_many_keys)
  gf_test(cpu.hostile_input_${_case}
          COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${GF_CLI_DIR}/hostile_inputs.py \
$<TARGET_FILE_DIR:generate> ${CMAKE_SOURCE_DIR} ${_case}")
endforeach()

# Names and metadata with control characters: inspect_weights prints them
# escaped, one line each (a name "a\nfake.tensor  float32[999]" made a
# second listing line; ESC reached the terminal).
gf_cli_test(inspect_weights_escapes_control_characters
            EXPECT "^a\\\\nfake.tensor  float32\\[999\\]  float32\\[1\\]$" "^metadata note: G_ema\\\\nmetadata network: D\\\\x1b\\[31m$"
            REJECT "^fake.tensor"
            COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; d=${CMAKE_BINARY_DIR}/test_hostile_names && rm -rf $d && mkdir -p $d && \
'${GF_PYTHON3}' -c \"import sys; sys.path.insert(0, '${GF_CLI_DIR}'); import bin_file; \
bin_file.write('$d/names.bin', {'a\\\\nfake.tensor  float32[999]': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}, \
'__metadata__': {'note': 'G_ema\\\\nmetadata network: D\\\\x1b[31m'}}, bytes(4))\" && \
exec $<TARGET_FILE:inspect_weights> --network $d/names.bin")
