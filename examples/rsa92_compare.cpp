// Compares the monkey IT and human IT RDMs of the Kriegeskorte 92 images (../shared/data/rsa92):
// Spearman rho on the lower triangle (README: about 0.439) with a bootstrap CI over stimuli,
// plus Kendall tau-a and Pearson r. Usage: rsa92_compare [data_dir]
#include <b2m/brain/npy.hpp>
#include <b2m/brain/rsa.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
    using namespace b2m::brain;
    const std::string dir = (argc > 1 ? std::string(argv[1]) : std::string(B2M_DATA_DIR)) + "/rsa92";
    if (!std::filesystem::exists(dir + "/rdm_human_it.npy")) {
        std::printf("SKIP: rsa92 data not found in %s (real data absent); exit code 77\n", dir.c_str());
        return 77;
    }
    try {
        const auto human = load_npy<double, 2>(dir + "/rdm_human_it.npy");
        const auto monkey = load_npy<double, 2>(dir + "/rdm_monkey_it.npy");
        const auto boot = bootstrap_compare(monkey, human, rdm_compare::spearman, 1000, 1);
        std::printf("monkey IT vs human IT, %zu stimuli, %zu pairs\n", human.shape(0), lower_triangle(human).size());
        std::printf("Spearman rho   = %.4f  (95%% bootstrap CI over stimuli %.3f .. %.3f, 1000 draws)\n", boot.value, boot.low,
                    boot.high);
        std::printf("Kendall tau-a  = %.4f\n", compare_rdms(monkey, human, rdm_compare::kendall_tau_a));
        std::printf("Pearson r      = %.4f\n", compare_rdms(monkey, human, rdm_compare::pearson));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsa92_compare: %s\n", e.what());
        return 1;
    }
    return 0;
}
