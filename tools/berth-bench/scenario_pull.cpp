#include <vector>

#include "scenarios.hpp"

namespace berth::bench {
namespace {

// pull: PullImage then RemoveImage of each --pull-image, one at a time; an
// image the endpoint had before is pulled back afterwards (untimed).
class PullScenario : public Scenario {
public:
    using Scenario::Scenario;

    bool setup(Recorder& recorder) override {
        for (const auto& image : env_.options.pull_images) {
            bool present = false;
            if (!record_untimed(recorder, "setup: ImageStatus",
                                env_.cri.image_present(image, &present)))
                return false;
            if (present)
                had_.push_back(image);
        }
        return true;
    }

    void iterate(Recorder& recorder, int count) override {
        const bool several = env_.options.pull_images.size() > 1;
        for (int i = 0; i < count && !interrupted(); ++i) {
            for (const auto& image : env_.options.pull_images) {
                const std::string suffix = several ? " " + image : "";
                if (record(recorder, "PullImage" + suffix, env_.cri.pull_image(image)))
                    record(recorder, "RemoveImage" + suffix, env_.cri.remove_image(image));
            }
        }
    }

    void teardown(Recorder& recorder) override {
        for (const auto& image : had_)
            record_untimed(recorder, "teardown: PullImage", env_.cri.pull_image(image));
    }

private:
    std::vector<std::string> had_;
};

}  // namespace

std::unique_ptr<Scenario> make_pull_scenario(ScenarioEnv env) {
    return std::make_unique<PullScenario>(env);
}

}  // namespace berth::bench
