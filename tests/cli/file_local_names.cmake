# No name a .cpp keeps to itself (an anonymous namespace's, a `static`, a
# const variable, a type) is defined in another .cpp of its library
# (tools/file_local_names.py): the emulated build compiles the libraries as
# unity builds (GF_UNITY_LIBRARIES), where two such names in one unit are a
# redefinition, or an overload set, decided by which files share a unit.
set(_fl_args)
foreach(_lib ${GF_UNITY_TARGETS})
  get_target_property(_type ${_lib} TYPE)
  if(NOT _type STREQUAL "INTERFACE_LIBRARY")
    list(APPEND _fl_args --library ${_lib} "$<TARGET_PROPERTY:${_lib},SOURCES>")
  endif()
endforeach()
add_test(NAME cpu.file_local_names_unique
         COMMAND ${GF_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/file_local_names.py ${_fl_args}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(cpu.file_local_names_unique PROPERTIES LABELS cpu)
# The finder itself, on two files that repeat each kind of file-local name
# (and define others that are not repeats: the same alias, another
# namespace's name, an out-of-line member, a function's own static).
gf_test(cpu.file_local_names_finds_repeats
        COMMAND sh -c "cd ${CMAKE_SOURCE_DIR} && d=tests/data/file_local_names && \
${GF_PYTHON3} tools/file_local_names.py --library fixture $d/a.cpp $d/b.cpp > ${CMAKE_BINARY_DIR}/file_local_names.out; \
rc=$?; [ $rc -eq 1 ] || { echo expected exit 1, got $rc; exit 1; }; diff $d/expected.txt ${CMAKE_BINARY_DIR}/file_local_names.out && echo repeats found")
set_tests_properties(cpu.file_local_names_finds_repeats PROPERTIES PASS_REGULAR_EXPRESSION "repeats found")
