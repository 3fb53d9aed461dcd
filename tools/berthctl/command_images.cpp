// Image verbs, named and flagged as crictl's: pull, images, inspecti, rmi,
// imagefsinfo; and Berth's own `image import`.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "output.hpp"

namespace berth::ctl {

namespace v1 = runtime::v1;

namespace {

// Sizes as crictl prints them (decimal units, 3 significant digits): "4.26MB".
std::string human_size(std::uint64_t bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1000 && unit + 1 < std::size(units)) {
        value /= 1000;
        ++unit;
    }
    std::ostringstream text;
    text << std::setprecision(value < 10 ? 3 : (value < 100 ? 4 : 5)) << value << units[unit];
    return text.str();
}

std::vector<v1::Image> list_images(Client& client, const std::string& filter) {
    v1::ListImagesRequest request;
    request.mutable_filter()->mutable_image()->set_image(filter);
    v1::ListImagesResponse response;
    check("ListImages", client.image().ListImages(client.context().get(), request, &response),
          client);
    return {response.images().begin(), response.images().end()};
}

// "registry/repo:tag" → {"registry/repo", "tag"}; a port colon is not a tag.
std::pair<std::string, std::string> split_tag(const std::string& reference) {
    const auto colon = reference.rfind(':');
    if (colon == std::string::npos || reference.find('/', colon) != std::string::npos) {
        return {reference, "<none>"};
    }
    return {reference.substr(0, colon), reference.substr(colon + 1)};
}

struct ImagesFlags {
    std::string filter;
    bool quiet = false;
    bool digests = false;
    bool no_trunc = false;
    std::string output = "table";
};

void print_images(const ImagesFlags& flags, const ClientOptions& options) {
    const OutputFormat format = parse_output_format(flags.output, true);
    Client client(options);
    const auto images = list_images(client, flags.filter);
    if (flags.quiet) {
        for (const auto& image : images)
            std::cout << image.id() << "\n";
        return;
    }
    if (format != OutputFormat::Table) {
        v1::ListImagesResponse all;
        for (const auto& image : images)
            *all.add_images() = image;
        print_structured(message_to_json(all), format);
        return;
    }
    std::cout << std::left << std::setw(48) << "IMAGE" << std::setw(16) << "TAG";
    if (flags.digests)
        std::cout << std::setw(16) << "DIGEST";
    std::cout << std::setw(16) << "IMAGE ID"
              << "SIZE\n";
    for (const auto& image : images) {
        std::string id = image.id().substr(image.id().find(':') + 1);
        if (!flags.no_trunc)
            id = id.substr(0, 13);
        std::string digest = "<none>";
        std::string digest_repo;
        if (image.repo_digests_size() > 0) {
            const auto& repo_digest = image.repo_digests(0);
            const auto at = repo_digest.find('@');
            digest_repo = repo_digest.substr(0, at);
            digest = repo_digest.substr(repo_digest.find(':', at) + 1);
            if (!flags.no_trunc)
                digest = digest.substr(0, 13);
        }
        std::vector<std::pair<std::string, std::string>> rows;
        for (const auto& tag : image.repo_tags())
            rows.push_back(split_tag(tag));
        if (rows.empty())
            rows.emplace_back(digest_repo.empty() ? "<none>" : digest_repo, "<none>");
        for (const auto& [repository, tag] : rows) {
            std::cout << std::left << std::setw(48) << repository << std::setw(16) << tag;
            if (flags.digests)
                std::cout << std::setw(16) << digest;
            std::cout << std::setw(16) << id << human_size(image.size()) << "\n";
        }
    }
}

void pull(const std::string& image, const std::string& creds, const std::string& auth,
          const ClientOptions& options) {
    v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    if (!creds.empty()) {
        const auto colon = creds.find(':');
        if (colon == std::string::npos) {
            throw CommandFailed("--creds must be USERNAME:PASSWORD");
        }
        request.mutable_auth()->set_username(creds.substr(0, colon));
        request.mutable_auth()->set_password(creds.substr(colon + 1));
    }
    request.mutable_auth()->set_auth(auth);
    Client client(options);
    v1::PullImageResponse response;
    // A pull takes as long as the download: not bound by the short --timeout.
    grpc::ClientContext context;
    check("PullImage", client.image().PullImage(&context, request, &response), client);
    std::cout << "Image is up to date for " << response.image_ref() << "\n";
}

void inspect(const std::vector<std::string>& images, const std::string& output,
             const ClientOptions& options) {
    const OutputFormat format = parse_output_format(output, false);
    Client client(options);
    for (const auto& image : images) {
        v1::ImageStatusRequest request;
        request.mutable_image()->set_image(image);
        request.set_verbose(true);
        v1::ImageStatusResponse response;
        check("ImageStatus", client.image().ImageStatus(client.context().get(), request, &response),
              client);
        if (!response.has_image()) {
            throw CommandFailed("no such image \"" + image + "\" present");
        }
        nlohmann::ordered_json result;
        result["status"] = message_to_json(response)["image"];
        add_info_entries(result, response.info());
        print_structured(result, format);
    }
}

// The images that a container uses, so that --prune leaves them. Before
// containers exist (ListContainers unimplemented) no image is in use.
std::set<std::string> images_in_use(Client& client) {
    v1::ListContainersRequest request;
    v1::ListContainersResponse response;
    const auto status = client.runtime().ListContainers(client.context().get(), request, &response);
    std::set<std::string> used;
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED)
        return used;
    check("ListContainers", status, client);
    for (const auto& container : response.containers()) {
        used.insert(container.image_ref());
        used.insert(container.image().image());
    }
    return used;
}

void remove_images(std::vector<std::string> images, bool all, bool prune,
                   const ClientOptions& options) {
    Client client(options);
    if (all || prune) {
        const auto used = prune ? images_in_use(client) : std::set<std::string>{};
        for (const auto& image : list_images(client, "")) {
            if (used.count(image.id()) == 0)
                images.push_back(image.id());
        }
    }
    if (images.empty() && !prune) {
        throw CommandFailed("rmi: give image ids or names, or --all / --prune");
    }
    for (const auto& image : images) {
        v1::RemoveImageRequest request;
        request.mutable_image()->set_image(image);
        v1::RemoveImageResponse response;
        check("RemoveImage", client.image().RemoveImage(client.context().get(), request, &response),
              client);
        std::cout << "Deleted: " << image << "\n";
    }
}

}  // namespace

void add_image_commands(CLI::App& app, const ClientOptions& options) {
    auto pull_image = std::make_shared<std::string>();
    auto pull_creds = std::make_shared<std::string>();
    auto pull_auth = std::make_shared<std::string>();
    auto* pull_command = app.add_subcommand("pull", "Pull an image from a registry");
    pull_command->add_option("IMAGE", *pull_image, "image name (repository[:tag] or @digest)")
        ->required();
    pull_command->add_option("--creds", *pull_creds, "USERNAME:PASSWORD for the registry");
    pull_command->add_option("--auth", *pull_auth, "base64(USERNAME:PASSWORD) for the registry");
    pull_command->callback([&options, pull_image, pull_creds, pull_auth] {
        pull(*pull_image, *pull_creds, *pull_auth, options);
    });

    auto flags = std::make_shared<ImagesFlags>();
    auto* images = app.add_subcommand("images", "List images");
    images->alias("image");
    images->add_option("REPOSITORY", flags->filter, "only this image (name, tag or id)");
    images->add_flag("-q,--quiet", flags->quiet, "only print image ids");
    images->add_flag("--digests", flags->digests, "show digests");
    images->add_flag("--no-trunc", flags->no_trunc, "show full ids and digests");
    images->add_option("-o,--output", flags->output, "json, yaml or table")->default_str("table");

    // `berthctl image import PATH`: "image" lists like crictl's alias, and
    // takes the import verb.
    auto import_path = std::make_shared<std::string>();
    auto* import_command =
        images->add_subcommand("import", "Load images from an OCI layout or a docker/OCI archive");
    import_command->add_option("PATH", *import_path, "OCI layout directory or tarball")->required();
    import_command->callback([&options, import_path] {
        ::berth::v1::ImportImageRequest request;
        request.set_path(std::filesystem::absolute(*import_path).lexically_normal().string());
        ::berth::v1::ImportImageResponse response;
        Client client(options);
        grpc::ClientContext context;  // as long as it takes
        check("ImportImage", client.berth_images().ImportImage(&context, request, &response),
              client);
        for (const auto& image : response.images()) {
            std::cout << "Imported " << image.id();
            for (const auto& tag : image.repo_tags())
                std::cout << " " << tag;
            std::cout << "\n";
        }
    });

    images->callback([&options, flags, import_command] {
        // CLI11 runs this callback for `image import` too: listing is only
        // for the verb on its own.
        if (!import_command->parsed())
            print_images(*flags, options);
    });

    auto inspect_images = std::make_shared<std::vector<std::string>>();
    auto inspect_output = std::make_shared<std::string>("json");
    auto* inspecti = app.add_subcommand("inspecti", "Return the status of one or more images");
    inspecti->add_option("IMAGE", *inspect_images, "image names or ids")->required();
    inspecti->add_option("-o,--output", *inspect_output, "json or yaml")->default_str("json");
    inspecti->callback([&options, inspect_images, inspect_output] {
        inspect(*inspect_images, *inspect_output, options);
    });

    auto remove_names = std::make_shared<std::vector<std::string>>();
    auto remove_all = std::make_shared<bool>(false);
    auto prune = std::make_shared<bool>(false);
    auto* rmi = app.add_subcommand("rmi", "Remove one or more images");
    rmi->add_option("IMAGE", *remove_names, "image names or ids");
    rmi->add_flag("-a,--all", *remove_all, "remove all images");
    rmi->add_flag("-p,--prune", *prune, "remove all images no container uses");
    rmi->callback([&options, remove_names, remove_all, prune] {
        remove_images(*remove_names, *remove_all, *prune, options);
    });

    auto fs_output = std::make_shared<std::string>("json");
    auto* imagefsinfo = app.add_subcommand("imagefsinfo", "Return image filesystem info");
    imagefsinfo->add_option("-o,--output", *fs_output, "json or yaml")->default_str("json");
    imagefsinfo->callback([&options, fs_output] {
        const OutputFormat format = parse_output_format(*fs_output, false);
        Client client(options);
        v1::ImageFsInfoResponse response;
        check(
            "ImageFsInfo",
            client.image().ImageFsInfo(client.context().get(), v1::ImageFsInfoRequest{}, &response),
            client);
        print_structured(message_to_json(response), format);
    });
}

}  // namespace berth::ctl
