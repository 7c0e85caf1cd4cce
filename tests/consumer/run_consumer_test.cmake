# CTest driver: install the build tree into a scratch prefix, then configure, build and run the
# consumer project (and, with -DEXAMPLES_DIR, every example source) against it through
# find_package(SwinSMT CONFIG).
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR TORCH_PREFIX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix;${TORCH_PREFIX}" "-DSWINSMT_EXAMPLES_DIR=${EXAMPLES_DIR}")
include(ProcessorCount)
ProcessorCount(_jobs)
if(_jobs GREATER 2)
  set(_jobs 2)  # the examples are whole translation units of LibTorch headers: keep memory bounded
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" --parallel ${_jobs})
run("${WORK_DIR}/build/consumer")
if(NOT EXISTS "${WORK_DIR}/prefix/bin/swinsmt")
  message(FATAL_ERROR "the swinsmt CLI was not installed")
endif()
