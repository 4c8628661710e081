// Must NOT compile: a data tag given where the objective goes.
#include <b2m/b2m.hpp>
using namespace b2m;
int main() {
    auto student = nn::sequential(nn::dense(4, 8), nn::relu{}, nn::dense(8, 2));
    auto trainer = train::make_trainer(student, data::targets, optim::adam({}));
    (void)trainer;
}
