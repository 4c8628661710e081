# The optional MPI component: target b2m::mpi (headers include/b2m/mpi, linking MPI::MPI_CXX).
# The core target b2m::b2m never links MPI; only code that includes b2m/mpi/*.hpp needs it.
# Installed as its own export set (b2mMpiTargets.cmake), loaded by find_package(b2m
# COMPONENTS mpi) only, so an outside project without MPI finds b2m as before.
set(MPI_CXX_SKIP_MPICXX TRUE)  # the C API only (no deprecated C++ bindings)
find_package(MPI QUIET COMPONENTS CXX)
option(B2M_WITH_MPI "Build the MPI component b2m::mpi (its tests, and the b2m tool under mpirun)" ${MPI_CXX_FOUND})
if(B2M_WITH_MPI)
  if(NOT MPI_CXX_FOUND)
    message(FATAL_ERROR "B2M_WITH_MPI is ON but MPI was not found (Debian: apt-get install libopenmpi-dev openmpi-bin)")
  endif()
  add_library(b2m_mpi INTERFACE)
  add_library(b2m::mpi ALIAS b2m_mpi)
  set_target_properties(b2m_mpi PROPERTIES EXPORT_NAME mpi)
  target_link_libraries(b2m_mpi INTERFACE b2m MPI::MPI_CXX)
  target_compile_definitions(b2m_mpi INTERFACE B2M_WITH_MPI=1)
  if(B2M_INSTALL)  # not when b2m is a consumer's subdirectory
    install(TARGETS b2m_mpi EXPORT b2mMpiTargets)
    install(EXPORT b2mMpiTargets NAMESPACE b2m:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/b2m)
  endif()
  message(STATUS "b2m: MPI component b2m::mpi enabled (${MPI_CXX_LIBRARIES})")
else()
  message(STATUS "b2m: MPI component off (B2M_WITH_MPI=OFF or MPI not found)")
endif()
