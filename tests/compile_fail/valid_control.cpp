// Must compile: the same student and objective as the failing cases, used correctly (so the
// compile-fail tests fail for the reason they name, not for a typo).
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::tap<"embed">{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::mse(nn::tap<"embed">{}, data::brain), optim::adam({}));
    auto seq = nn::sequential(nn::gru(2, 8), nn::tap<"states">{}, nn::last_step(8), nn::dense(8, 2));
    auto t2 = train::make_trainer(seq, loss::cross_entropy(nn::output, data::labels), optim::adam({}));
    (void)trainer;
    (void)t2;
}
