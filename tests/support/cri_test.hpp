// The fixture integration suites share: a registry started once per suite
// with the images the suite pushes, and for each test a berthd of its own
// with a CriSession on it; every pod is removed through the API afterwards,
// so that no container, monitor or mount outlives the test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "berthd_instance.hpp"
#include "cri_session.hpp"
#include "test_registry.hpp"

namespace berth::test {

class CriTest : public testing::Test {
protected:
    // For a suite's SetUpTestSuite: starts the registry and pushes `images`
    // ("busybox:multi").
    static void start_registry(const std::vector<std::string>& images) {
        registry_ = new TestRegistry();
        ASSERT_TRUE(registry_->start()) << registry_->log();
        for (const auto& image : images)
            registry_->push(image);
    }
    static void TearDownTestSuite() {
        delete registry_;
        registry_ = nullptr;
    }

    // The registry's reference for `image` ("busybox:multi").
    static std::string reference(const std::string& name) { return registry_->host() + "/" + name; }

    // Starts a berthd with `options`, connects a CriSession and pulls
    // `images` from the registry.
    void start_daemon(BerthdOptions options = {}, const std::vector<std::string>& images = {}) {
        daemon_ = std::make_unique<BerthdInstance>(std::move(options));
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
        cri_ = std::make_unique<CriSession>(*daemon_);
        for (const auto& name : images)
            cri_->pull(reference(name));
    }

    void TearDown() override {
        if (cri_)
            cri_->remove_all_pods();
        cri_.reset();
        daemon_.reset();
    }

    inline static TestRegistry* registry_ = nullptr;
    std::unique_ptr<BerthdInstance> daemon_;
    std::unique_ptr<CriSession> cri_;
};

}  // namespace berth::test
