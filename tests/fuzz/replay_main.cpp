// Runs a fuzz target's entry point once over every file of the corpus
// directories (or files) given as arguments, so that the committed corpus is
// a regression test in builds without libFuzzer.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t runs = 0;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path path(argv[i]);
        if (std::filesystem::is_directory(path)) {
            for (const auto& entry : std::filesystem::directory_iterator(path)) {
                if (!entry.is_regular_file())
                    continue;
                run_file(entry.path());
                ++runs;
            }
        } else if (std::filesystem::is_regular_file(path)) {
            run_file(path);
            ++runs;
        } else {
            std::cerr << "no such corpus: " << path << '\n';
            return 1;
        }
    }
    // An empty corpus would pass without testing anything.
    if (runs == 0) {
        std::cerr << "no corpus files given\n";
        return 1;
    }
    std::cout << "ran " << runs << " inputs\n";
    return 0;
}
