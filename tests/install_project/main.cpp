// An outside project: trains a tiny student through the installed b2m package.
#include <b2m/b2m.hpp>

#include <cstdio>

int main() {
    using namespace b2m;
    auto net = nn::sequential<double>(nn::dense(2, 8), nn::tanh{}, nn::dense(8, 1));
    net.init(rng(1));
    matrix<double> x = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    matrix<double> y = {{0}, {1}, {1}, {0}};
    auto objective = loss::mse(nn::output, data::targets);
    auto trainer = train::make_trainer(net, objective, optim::adam({.lr = 0.05}));
    train::batch<double> b;
    b.x = x;
    b.targets = y;
    double first = 0, last = 0;
    for (int step = 0; step < 500; ++step) {
        last = trainer.step(b).total;
        if (step == 0) first = last;
    }
    std::printf("b2m %s: XOR mse %.4f -> %.4f\n", b2m::version_string, first, last);
    return last < 0.25 * first ? 0 : 1;
}
