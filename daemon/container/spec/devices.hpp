// Device nodes for linux.devices and the device cgroup rules that go with them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace berth::daemon::container {

// The linux.devices entry for the host device node `host_path`, to appear
// at `container_path`; null when it is not a character or block device.
nlohmann::json device_entry(const std::string& host_path, const std::string& container_path);

// Every device node below /dev, as runc's HostDevices finds them (skipping
// pts, shm, mqueue, fd and the console, which the container gets its own of).
nlohmann::json host_devices();

}  // namespace berth::daemon::container
