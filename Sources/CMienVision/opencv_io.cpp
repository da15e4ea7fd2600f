// Loads libMienOpenCVIO.so on first use (see opencv_io.hpp for why).
#include "opencv_io.hpp"
#include "shim_util.hpp"

#include <dlfcn.h>
#include <unistd.h>
#include <climits>
#include <stdexcept>

namespace {

/// The folder of this process's executable (`mien`, or the test bundle beside it).
std::string executable_folder() {
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return ".";
    std::string p(path, static_cast<size_t>(n));
    size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

struct Loaded {
    const mien_opencv_io *io = nullptr;
    std::string error;

    Loaded() {
        const std::string folder = executable_folder();
        const std::string name = "libMienOpenCVIO.so";
        for (const std::string &path : {folder + "/" + name, folder + "/../lib/" + name}) {
            if (access(path.c_str(), F_OK) != 0) continue;
            void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (!handle) {
                const char *e = dlerror();
                error = missing_opencv(path, e ? e : "unknown error");
                return;
            }
            auto entry = reinterpret_cast<const mien_opencv_io *(*)()>(dlsym(handle, "mien_opencv_io_v1"));
            io = entry ? entry() : nullptr;
            if (!io || io->version != MIEN_OPENCV_IO_VERSION) {
                io = nullptr;
                error = path + " is not this mien's OpenCV I/O library (another build?): rebuild both with `swift build`";
            }
            return;
        }
        error = "cannot find " + name + " beside " + folder + " or in its ../lib: it is built with mien (`swift build` builds it; the container image installs it in /usr/local/lib)";
    }

    /// Names the OpenCV module the loader could not find, and its Debian package.
    static std::string missing_opencv(const std::string &path, const std::string &dl) {
        const std::string package = std::to_string(CV_VERSION_MAJOR * 100 + CV_VERSION_MINOR);
        for (const char *module : {"imgcodecs", "videoio"}) {
            if (dl.find(std::string("libopencv_") + module) != std::string::npos)
                return std::string("cannot load OpenCV's ") + module + " library (" + dl + ", needed by " + path +
                       "; on Debian: apt-get install libopencv-" + module + package + ")";
        }
        return "cannot load " + path + " (" + dl + "; on Debian: apt-get install libopencv-imgcodecs" + package +
               " libopencv-videoio" + package + ")";
    }
};

}  // namespace

namespace mien::cvio {

const mien_opencv_io *library(std::string &why) {
    static const Loaded loaded;  // opened once, never closed: OpenCV keeps global state
    if (!loaded.io) why = loaded.error;
    return loaded.io;
}

bool image_codecs(ImageCodecs &codecs, std::string &why) {
    codecs.io = library(why);
    return codecs.io != nullptr;
}

bool ImageCodecs::haveImageReader(const std::string &path) const {
    StdioCapture capture;
    return io->have_image_reader(path.c_str()) == 1;
}

bool ImageCodecs::haveImageWriter(const std::string &path) const {
    StdioCapture capture;
    return io->have_image_writer(path.c_str()) == 1;
}

// libpng and libjpeg print their warnings to stderr themselves: StdioCapture takes them to the log.
cv::Mat ImageCodecs::imread(const std::string &path, int flags) const {
    StdioCapture capture;
    cv::Mat m;
    char err[512] = "";
    if (io->imread(path.c_str(), flags, &m, err, sizeof err) != 1) throw std::runtime_error(err);
    return m;
}

bool ImageCodecs::imwrite(const std::string &path, const cv::Mat &image) const {
    StdioCapture capture;
    char err[512] = "";
    int ok = io->imwrite(path.c_str(), &image, err, sizeof err);
    if (ok < 0) throw std::runtime_error(err);
    return ok == 1;
}

}  // namespace mien::cvio
