// Conan test_package: a consumer that found b2m with find_package(b2m) trains a tiny student
// to imitate a fixed random teacher network (mean-squared error) and checks the loss fell.
#include <b2m/b2m.hpp>

#include <cstdio>

int main() {
    using namespace b2m;
    auto teacher = nn::sequential<double>(nn::dense(4, 8), nn::tanh{}, nn::dense(8, 2));
    teacher.init(rng(7));
    rng data_rng(11);
    train::batch<double> b;
    b.x = matrix<double>::from_shape({32, 4});
    data_rng.fill_normal(b.x);
    b.targets = teacher.forward(b.x, {.training = false});

    auto student = nn::sequential<double>(nn::dense(4, 16), nn::tanh{}, nn::dense(16, 2));
    student.init(rng(1));
    auto trainer = train::make_trainer(student, loss::mse(nn::output, data::targets),
                                       optim::adam({.lr = 0.02}));
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
        last = trainer.step(b).total;
        if (step == 0) first = last;
    }
    std::printf("b2m %s (OpenMP %d): student mse %.5f -> %.5f\n", version_string, B2M_HAS_OPENMP,
                first, last);
    return last < 0.1 * first ? 0 : 1;
}
