// pod, container, scratch, exec and list: the lifecycle of single objects.
#include <atomic>
#include <mutex>
#include <vector>

#include "scenarios.hpp"

namespace berth::bench {
namespace {

// RunPodSandbox -> PodSandboxStatus -> StopPodSandbox -> RemovePodSandbox.
class PodScenario : public Scenario {
public:
    using Scenario::Scenario;

    void iterate(Recorder& recorder, int count) override {
        run_workers(env_.options.concurrency, count, [&](int, int) {
            std::string id;
            const auto ran = env_.cri.run_pod(env_.workload.pod_config("pod"),
                                              env_.options.runtime_handler, &id);
            if (!record(recorder, "RunPodSandbox", ran))
                return remove_pod_untimed(env_, recorder, id);
            const auto status = env_.cri.pod_status(id);
            const auto stopped = env_.cri.stop_pod(id);
            const auto removed = env_.cri.remove_pod(id);
            const bool all = record(recorder, "PodSandboxStatus", status) &
                             record(recorder, "StopPodSandbox", stopped) &
                             record(recorder, "RemovePodSandbox", removed);
            if (all)
                recorder.add_sample("pod lifecycle (all four)",
                                    ran.ms + status.ms + stopped.ms + removed.ms);
            else if (!removed.ok())
                remove_pod_untimed(env_, recorder, id);
        });
    }
};

// One pod per worker, set up beforehand; each iteration is CreateContainer
// -> StartContainer -> ContainerStatus -> StopContainer -> RemoveContainer.
class ContainerScenario : public Scenario {
public:
    using Scenario::Scenario;

    bool setup(Recorder& recorder) override {
        for (int worker = 0; worker < env_.options.concurrency; ++worker) {
            std::string id;
            auto config = env_.workload.pod_config("container");
            const auto ran = env_.cri.run_pod(config, env_.options.runtime_handler, &id);
            if (!record_untimed(recorder, "setup: RunPodSandbox", ran)) {
                remove_pod_untimed(env_, recorder, id);
                return false;
            }
            pods_.push_back({id, config});
        }
        return true;
    }

    void iterate(Recorder& recorder, int count) override {
        run_workers(env_.options.concurrency, count, [&](int worker, int) {
            const auto& [pod_id, pod_config] = pods_[static_cast<std::size_t>(worker)];
            // Appended rather than "c" + to_string(): GCC 12 at -O3 warns
            // falsely (-Wrestrict) on a literal plus a temporary string.
            std::string name = "c";
            name += std::to_string(names_++);
            std::string id;
            const auto created = env_.cri.create_container(
                pod_id, pod_config, env_.workload.container_config(pod_config, name), &id);
            if (!record(recorder, "CreateContainer", created)) {
                if (!id.empty())
                    record_untimed(recorder, "teardown: RemoveContainer",
                                   env_.cri.remove_container(id));
                return;
            }
            const auto started = env_.cri.start_container(id);
            if (!record(recorder, "StartContainer", started)) {
                record_untimed(recorder, "teardown: RemoveContainer",
                               env_.cri.remove_container(id));
                return;
            }
            recorder.add_sample("CreateContainer+StartContainer", created.ms + started.ms);
            const auto status = env_.cri.container_status_running(id);
            const auto stopped = env_.cri.stop_container(id, env_.options.stop_timeout);
            const auto removed = env_.cri.remove_container(id);
            const bool all = record(recorder, "ContainerStatus", status) &
                             record(recorder, "StopContainer", stopped) &
                             record(recorder, "RemoveContainer", removed);
            if (all) {
                recorder.add_sample("container lifecycle (all five)",
                                    created.ms + started.ms + status.ms + stopped.ms + removed.ms);
            }
        });
    }

    void teardown(Recorder& recorder) override {
        for (const auto& pod : pods_)
            remove_pod_untimed(env_, recorder, pod.first);
        pods_.clear();
    }

private:
    std::vector<std::pair<std::string, runtime::v1::PodSandboxConfig>> pods_;
    std::atomic<int> names_{0};
};

// A running container from nothing (pod, container, start), then kubelet's
// teardown: StopContainer, RemoveContainer, StopPodSandbox, RemovePodSandbox.
class ScratchScenario : public Scenario {
public:
    using Scenario::Scenario;

    void iterate(Recorder& recorder, int count) override {
        run_workers(env_.options.concurrency, count, [&](int, int) {
            PodWithContainer pod;
            if (!start_pod_with_container(env_, recorder, "scratch", true, pod))
                return;
            recorder.add_sample("scratch: pod to running container", pod.start_ms);
            const auto stopped =
                env_.cri.stop_container(pod.container_id, env_.options.stop_timeout);
            const auto removed = env_.cri.remove_container(pod.container_id);
            const auto pod_stopped = env_.cri.stop_pod(pod.pod_id);
            const auto pod_removed = env_.cri.remove_pod(pod.pod_id);
            const bool all = record(recorder, "StopContainer", stopped) &
                             record(recorder, "RemoveContainer", removed) &
                             record(recorder, "StopPodSandbox", pod_stopped) &
                             record(recorder, "RemovePodSandbox", pod_removed);
            if (all) {
                recorder.add_sample("scratch: teardown",
                                    stopped.ms + removed.ms + pod_stopped.ms + pod_removed.ms);
            } else if (!pod_removed.ok()) {
                remove_pod_untimed(env_, recorder, pod.pod_id);
            }
        });
    }
};

// ExecSync of --exec-command into a running container, one per worker.
class ExecScenario : public Scenario {
public:
    using Scenario::Scenario;

    bool setup(Recorder& recorder) override {
        for (int worker = 0; worker < env_.options.concurrency; ++worker) {
            PodWithContainer pod;
            if (!start_pod_with_container(env_, recorder, "exec", false, pod))
                return false;
            pods_.push_back(pod);
        }
        return true;
    }

    void iterate(Recorder& recorder, int count) override {
        run_workers(env_.options.concurrency, count, [&](int worker, int) {
            record(recorder, "ExecSync",
                   env_.cri.exec_sync(pods_[static_cast<std::size_t>(worker)].container_id,
                                      env_.options.exec_command));
        });
    }

    void teardown(Recorder& recorder) override {
        for (const auto& pod : pods_)
            remove_pod_untimed(env_, recorder, pod.pod_id);
        pods_.clear();
    }

private:
    std::vector<PodWithContainer> pods_;
};

// ListPodSandbox and ListContainers with --list-objects pods present, each
// with a running container; and Version, whose time is the round trip that
// every call pays.
class ListScenario : public Scenario {
public:
    using Scenario::Scenario;

    bool setup(Recorder& recorder) override {
        std::mutex mutex;
        bool failed = false;
        run_workers(env_.options.concurrency, env_.options.list_objects, [&](int, int) {
            PodWithContainer pod;
            const bool ok = start_pod_with_container(env_, recorder, "list", false, pod);
            std::lock_guard lock(mutex);
            if (ok)
                pods_.push_back(pod);
            else
                failed = true;
        });
        return !failed && !interrupted();
    }

    void iterate(Recorder& recorder, int count) override {
        const auto expected = pods_.size();
        run_workers(env_.options.concurrency, count, [&](int, int) {
            std::size_t found = 0;
            auto listed = env_.cri.list_pods(&found);
            if (listed.ok() && found < expected) {
                listed.status = grpc::Status(grpc::StatusCode::UNKNOWN,
                                             "listed " + std::to_string(found) + " pods, " +
                                                 std::to_string(expected) + " exist");
            }
            record(recorder, "ListPodSandbox", listed);
            listed = env_.cri.list_containers(&found);
            if (listed.ok() && found < expected) {
                listed.status = grpc::Status(grpc::StatusCode::UNKNOWN,
                                             "listed " + std::to_string(found) + " containers, " +
                                                 std::to_string(expected) + " exist");
            }
            record(recorder, "ListContainers", listed);
            record(recorder, "Version (gRPC round-trip floor)", env_.cri.version());
        });
    }

    void teardown(Recorder& recorder) override {
        std::vector<PodWithContainer> pods;
        pods.swap(pods_);
        run_workers(
            env_.options.concurrency, static_cast<int>(pods.size()),
            [&](int, int index) {
                remove_pod_untimed(env_, recorder, pods[static_cast<std::size_t>(index)].pod_id);
            },
            true);
    }

private:
    std::vector<PodWithContainer> pods_;
};

}  // namespace

std::unique_ptr<Scenario> make_pod_scenario(ScenarioEnv env) {
    return std::make_unique<PodScenario>(env);
}
std::unique_ptr<Scenario> make_container_scenario(ScenarioEnv env) {
    return std::make_unique<ContainerScenario>(env);
}
std::unique_ptr<Scenario> make_scratch_scenario(ScenarioEnv env) {
    return std::make_unique<ScratchScenario>(env);
}
std::unique_ptr<Scenario> make_exec_scenario(ScenarioEnv env) {
    return std::make_unique<ExecScenario>(env);
}
std::unique_ptr<Scenario> make_list_scenario(ScenarioEnv env) {
    return std::make_unique<ListScenario>(env);
}

}  // namespace berth::bench
