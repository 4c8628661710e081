# The optional MPI component: target b2m::mpi (headers include/b2m/mpi, linking MPI::MPI_CXX).
# The core target b2m::b2m never links MPI; only code that includes b2m/mpi/*.hpp needs it.
# find_package(b2m COMPONENTS mpi) loads it from an install (and only then looks for MPI),
# so an outside project without MPI finds b2m as before. The pattern (option, target,
# install, package loading): cmake/b2mComponent.cmake.
set(MPI_CXX_SKIP_MPICXX TRUE)  # the C API only (no deprecated C++ bindings)
find_package(MPI QUIET COMPONENTS CXX)
b2m_add_optional_component(mpi
  OPTION B2M_WITH_MPI "Build the MPI component b2m::mpi (its tests, and the b2m tool under mpirun)"
  REQUIRES MPI_CXX_FOUND
  LINK MPI::MPI_CXX
  MISSING "MPI"
  HINT "Debian: apt-get install libopenmpi-dev openmpi-bin"
  SUMMARY "MPI component")
