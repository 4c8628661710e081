# Conan 2 recipe for xtensor-blas (header-only BLAS/LAPACK bindings for xtensor), kept here
# because ConanCenter has no xtensor-blas. Export it before creating b2m:
#   conan export conan/recipes/xtensor-blas --version 0.20.0
import os

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, get
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"


class XtensorBlasConan(ConanFile):
    name = "xtensor-blas"
    description = "BLAS and LAPACK bindings for xtensor (xt::linalg)"
    license = "BSD-3-Clause"
    homepage = "https://github.com/xtensor-stack/xtensor-blas"
    topics = ("xtensor", "blas", "lapack", "linear-algebra", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    default_options = {"openblas/*:build_lapack": True}  # xt::linalg needs LAPACK too
    no_copy_source = True

    def layout(self):
        basic_layout(self, src_folder="src")

    def requirements(self):
        # 0.20.x requires xtensor ^0.24.0 (upstream README).
        self.requires("xtensor/[>=0.24.0 <0.25]")
        self.requires("openblas/[>=0.3.20 <0.4]")

    def package_id(self):
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, 14)

    def source(self):
        get(self, **self.conan_data["sources"][self.version], strip_root=True)

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        # The files upstream's `cmake --install` puts in include/: the API headers and the
        # bundled FLENS cxxblas/cxxlapack headers (minus xblas_config_cling.hpp, which upstream
        # generates for the cling interpreter only).
        include = os.path.join(self.source_folder, "include")
        copy(self, "xtensor-blas/*.hpp", include, os.path.join(self.package_folder, "include"))
        copy(self, "xflens/*", include, os.path.join(self.package_folder, "include"),
             excludes=("*.tgz", "*Makefile", "*dummy.in.cc", "*filter.pm", "*CMakeLists.txt"))

    def package_info(self):
        # Same names as upstream's xtensor-blasConfig.cmake: find_package(xtensor-blas), target xtensor-blas.
        self.cpp_info.set_property("cmake_file_name", "xtensor-blas")
        self.cpp_info.set_property("cmake_target_name", "xtensor-blas")
        self.cpp_info.set_property("pkg_config_name", "xtensor-blas")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        # An OpenBLAS taken from the system ([platform_requires]) is hidden from generators:
        # link it by name then (Debian's libopenblas also provides LAPACK).
        if "openblas" not in self.dependencies:
            self.cpp_info.system_libs = ["openblas"]
