// Must NOT compile: a (batch, time, features) sequence tap given to cross-entropy, which
// takes (batch, classes).
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto student = nn::sequential(nn::gru(2, 8), nn::tap<"states">{}, nn::last_step(8), nn::dense(8, 2));
    auto trainer = train::make_trainer(student, loss::cross_entropy(nn::tap<"states">{}, data::labels), optim::adam({}));
    (void)trainer;
}
