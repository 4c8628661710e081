# `b2m train` under mpiexec (label mpi): data-parallel training through mpi::fit.
#   - the student trained by NP ranks equals one process's (same global batch) within 1e-5;
#   - output is printed once and rank 0 writes every file (no temporary or partial files);
#   - a checkpoint written by NP ranks resumes with another rank count (NP2) and the result
#     equals the uninterrupted one-process run within 1e-5;
#   - a missing input stops every rank with one error line; so does a failure that only
#     rank 0 sees (an --out path that is a file), without a hang (the test has a timeout).
# Parameters are compared with numpy (/usr/bin/python3); without numpy the test is skipped.
# Usage: cmake -DB2M=<b2m> -DMPIEXEC=<mpiexec> -DNP=<ranks> -DNP2=<ranks> -DWORK=<dir> -DPYTHON=<python3>
#              -P cli_train_mpi.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
execute_process(COMMAND ${PYTHON} -c "import numpy" RESULT_VARIABLE no_numpy OUTPUT_QUIET ERROR_QUIET)
if(no_numpy)
  message(STATUS "SKIPPED: numpy is not available to ${PYTHON} (needed to compare the parameters)")
  return()
endif()
execute_process(COMMAND ${B2M} simulate --out "${WORK}/sim" --trials 240 --features 24 --voxels 30
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "b2m simulate failed (${rc}): ${err}")
endif()
set(data --stimuli "${WORK}/sim/stimuli.npy" --labels "${WORK}/sim/labels.npy" --brain "${WORK}/sim/brain.npy")
set(opts --objective contrastive --preset mlp --batch 40 --seed 3 --lr 0.01 --quiet)

# max |a - b| over the arrays of two .npz files (same names), printed; exit 1 above 1e-5
set(compare "import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
if sorted(a.files) != sorted(b.files): sys.exit('different arrays: %s vs %s' % (sorted(a.files), sorted(b.files)))
d = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in a.files)
moved = max(float(np.max(np.abs(a[k]))) for k in a.files)
print('max |difference| %.3g over %d arrays' % (d, len(a.files)))
sys.exit(0 if d <= 1e-5 and moved > 0 else 1)")
function(expect_same a b what)
  execute_process(COMMAND ${PYTHON} -c "${compare}" "${a}" "${b}" RESULT_VARIABLE differ OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(differ)
    message(FATAL_ERROR "${what}: parameters differ (${out}${err})")
  endif()
  message(STATUS "${what}: ${out}")
endfunction()

set(launch ${MPIEXEC} -n ${NP} --oversubscribe)
execute_process(COMMAND ${B2M} train ${data} ${opts} --epochs 4 --out "${WORK}/one" RESULT_VARIABLE rc
                OUTPUT_VARIABLE one ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "b2m train (one process) failed (${rc}): ${err}")
endif()
execute_process(COMMAND ${launch} ${B2M} train ${data} ${opts} --epochs 4 --out "${WORK}/many" RESULT_VARIABLE rc
                OUTPUT_VARIABLE many ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "mpiexec -n ${NP} b2m train failed (${rc}): ${err}")
endif()
expect_same("${WORK}/one/student.npz" "${WORK}/many/student.npz" "${NP} ranks vs one process, 4 epochs")
# printed once: the closing summary appears once; the folder names aside, the printed
# lines equal one process's (the timing aside)
string(REGEX MATCHALL "trained [0-9]+ epochs" heads "${many}")
list(LENGTH heads count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "${NP} ranks printed the summary ${count} times (want 1):\n${many}")
endif()
string(REGEX REPLACE "in [0-9.]+ s" "" one "${one}")
string(REGEX REPLACE "in [0-9.]+ s" "" many "${many}")
string(REPLACE "${WORK}/one" "" one "${one}")
string(REPLACE "${WORK}/many" "" many "${many}")
if(NOT one STREQUAL many)
  message(FATAL_ERROR "the printed output differs:\n--- one process\n${one}\n--- ${NP} ranks\n${many}")
endif()
foreach(f params student.npz log.csv report.json split.npy)
  if(NOT EXISTS "${WORK}/many/${f}")
    message(FATAL_ERROR "${NP} ranks did not write ${f}")
  endif()
endforeach()
file(GLOB leftovers "${WORK}/many/*.tmp*" "${WORK}/many/*.partial" "${WORK}/many/.b2m_write_test*")
if(leftovers)
  message(FATAL_ERROR "temporary files left: ${leftovers}")
endif()
file(STRINGS "${WORK}/many/log.csv" log_lines)
list(LENGTH log_lines log_count)
if(NOT log_count EQUAL 5)
  message(FATAL_ERROR "log.csv of ${NP} ranks has ${log_count} lines (want a header and 4 epochs)")
endif()
file(READ "${WORK}/many/report.json" report)
if(NOT report MATCHES "\"mpi_ranks\": *${NP}")
  message(FATAL_ERROR "report.json does not record ${NP} ranks:\n${report}")
endif()

# a checkpoint of NP ranks (2 epochs) resumed with NP2 ranks to epoch 4 = 4 epochs in one process
execute_process(COMMAND ${launch} ${B2M} train ${data} ${opts} --epochs 2 --out "${WORK}/resumed" RESULT_VARIABLE rc
                ERROR_VARIABLE err OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "mpiexec -n ${NP} b2m train (2 epochs) failed (${rc}): ${err}")
endif()
execute_process(COMMAND ${MPIEXEC} -n ${NP2} --oversubscribe ${B2M} train ${data} ${opts} --epochs 4 --resume
                        --out "${WORK}/resumed" RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "mpiexec -n ${NP2} b2m train --resume failed (${rc}): ${err}")
endif()
expect_same("${WORK}/one/student.npz" "${WORK}/resumed/student.npz"
            "2 epochs on ${NP} ranks + 2 resumed on ${NP2} vs 4 epochs in one process")
file(STRINGS "${WORK}/resumed/log.csv" log_lines)
list(LENGTH log_lines log_count)
if(NOT log_count EQUAL 5)
  message(FATAL_ERROR "the resumed log.csv has ${log_count} lines (want a header and 4 epochs)")
endif()

# a missing input: one error line (rank 0's), non-zero exit, no hang
execute_process(COMMAND ${launch} ${B2M} train --stimuli "${WORK}/sim/stimuli.npy" --labels "${WORK}/sim/missing.npy"
                        --out "${WORK}/bad" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "b2m train: error:[^\n]*" lines "${err}")
list(LENGTH lines count)
if(rc EQUAL 0 OR NOT count EQUAL 1 OR NOT err MATCHES "missing.npy")
  message(FATAL_ERROR "a missing input under ${NP} ranks: exit ${rc}, ${count} error lines (want 1):\n${err}")
endif()
# a failure rank 0 alone sees (--out is a file: only rank 0 prepares the folder): one line
file(WRITE "${WORK}/a_file" "x")
execute_process(COMMAND ${launch} ${B2M} train ${data} ${opts} --epochs 1 --out "${WORK}/a_file"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "b2m train: error:[^\n]*" lines "${err}")
list(LENGTH lines count)
if(rc EQUAL 0 OR NOT count EQUAL 1 OR NOT err MATCHES "a_file" OR err MATCHES "stopping every rank")
  message(FATAL_ERROR "an unusable --out under ${NP} ranks: exit ${rc}, ${count} error lines (want 1, agreed):\n${err}")
endif()
message(STATUS "b2m train under ${NP} ranks: same student as one process; resumed on ${NP2}; bad input gives one error line")
