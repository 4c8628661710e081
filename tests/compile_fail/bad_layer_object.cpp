// Must NOT compile: a user-written layer whose object lacks backward().
#include <b2m/b2m.hpp>
using namespace b2m;
template <real T>
struct half_object {
    static constexpr int rank_out = 0;
    matrix<T> y;
    void init(rng&) {}
    const matrix<T>& forward(const matrix<T>& x, const nn::step_context&) { return y = 0.5 * x; }
    template <class F> void for_each_param(F&&) {}
};
struct half {
    template <real T> half_object<T> make() const { return {}; }
};
int main() {
    auto student = nn::sequential(nn::dense(4, 8), half{}, nn::dense(8, 2));
    (void)student;
}
