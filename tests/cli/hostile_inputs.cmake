# Damaged and hostile input files (tests/cli/hostile_inputs.py makes each from
# a small committed fixture): one line naming the file and exit status 1, or
# for the report a page written quickly. Skipped (77) without a Python 3.
foreach(_case bin_metadata_deep_json bin_metadata_type_named bin_metadata_int_range bin_metadata_value_range not_a_network bin_nan_weight bin_overflowing_weight psp_damaged_encoder bin_name_newline dataset_json_deep png_bad_crc png_too_large resume_config_named
              mnist_no_images report_extreme_values report_deep_options report_many_keys)
  gf_test(cpu.hostile_input_${_case}
          COMMAND sh -c "[ -x '${GF_PYTHON3}' ] || exit 77; exec '${GF_PYTHON3}' ${GF_CLI_DIR}/hostile_inputs.py \
$<TARGET_FILE_DIR:generate> ${CMAKE_SOURCE_DIR} ${_case}")
endforeach()
