# Conan 2 recipe for b2m (header-only). Create it with:
#   conan export conan/recipes/xtensor-blas --version 0.20.0   # ConanCenter has no xtensor-blas
#   conan create . --build=missing
# or, offline on Debian 12 with the -dev packages installed:
#   conan create . -pr:a conan/debian -nr
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.layout import basic_layout
from conan.tools.files import copy, load

required_conan_version = ">=2.0"


class B2mConan(ConanFile):
    name = "b2m"
    description = ("Header-only C++20 library that trains neural networks with brain recordings as a "
                   "teacher (brain-to-model transfer) and measures brain alignment (ridge encoding, RSA, CKA)")
    license = "MIT"
    # The repository has no public address yet: set both when it is published.
    url = "https://example.invalid/b2m"
    homepage = "https://example.invalid/b2m"
    topics = ("neuroscience", "brain-alignment", "deep-learning", "autodiff", "rsa", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    exports_sources = "include/*", "LICENSE"
    no_copy_source = True
    default_options = {"boost/*:header_only": True, "openblas/*:build_lapack": True}
    # For developers: `conan install .` then build the tests with the generated CMake preset.
    generators = "CMakeDeps", "CMakeToolchain"

    def set_version(self):
        # The version lives in include/b2m/config.hpp (single source of truth, as for CMake).
        text = load(self, os.path.join(self.recipe_folder, "include", "b2m", "config.hpp"))
        parts = [re.search(rf"#define B2M_VERSION_{p} (\d+)", text).group(1)
                 for p in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        # xtensor-blas 0.20.x is the release that pairs with xtensor 0.24.x.
        self.requires("xtensor/0.24.7")
        self.requires("xtensor-blas/0.20.0")
        self.requires("openblas/[>=0.3.20 <0.4]")  # cblas.h and LAPACK (b2m::gemm, xt::linalg)
        self.requires("boost/[>=1.71 <2]")           # Boost.Hana only

    def build_requirements(self):
        self.test_requires("doctest/[>=2.4.9 <3]")

    def validate(self):
        check_min_cppstd(self, 20)

    def package_id(self):
        self.info.clear()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "b2m")
        self.cpp_info.set_property("cmake_target_name", "b2m::b2m")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.requires = ["xtensor::xtensor", "xtensor-blas::xtensor-blas",
                                  "openblas::openblas", "boost::headers"]
        # b2m's kernels use OpenMP (b2m::parallel_for).
        if self.settings.compiler in ("gcc", "clang"):
            self.cpp_info.cxxflags = ["-fopenmp"]
            self.cpp_info.sharedlinkflags = ["-fopenmp"]
            self.cpp_info.exelinkflags = ["-fopenmp"]
        # Conan hides dependencies taken from the system ([platform_requires], see conan/debian)
        # and generates nothing for them; their headers are in /usr/include, but the OpenBLAS
        # library must still be linked, so b2m names it itself in that case.
        if "openblas" not in self.dependencies:
            self.cpp_info.system_libs = ["openblas"]
