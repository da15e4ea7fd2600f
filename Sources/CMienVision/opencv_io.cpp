// OpenCV's imgcodecs and videoio, opened on first use (see opencv_io.hpp for why).
#include "opencv_io.hpp"

#include <dlfcn.h>
#include <cstring>
#include <new>
#include <type_traits>

// The symbol names below are those of libstdc++'s C++11 string ABI, which OpenCV is built with.
static_assert(_GLIBCXX_USE_CXX11_ABI, "the looked-up OpenCV symbols take std::__cxx11::string");
static_assert(std::is_same_v<decltype(&cv::imread), cv::Mat (*)(const std::string &, int)>);
static_assert(std::is_same_v<decltype(&cv::imwrite), bool (*)(const std::string &, cv::InputArray, const std::vector<int> &)>);
static_assert(std::is_same_v<decltype(&cv::haveImageReader), bool (*)(const std::string &)>);
static_assert(std::is_same_v<decltype(&cv::haveImageWriter), bool (*)(const std::string &)>);
static_assert(std::has_virtual_destructor_v<cv::VideoWriter>);

namespace {

/// Where the library of OpenCV module `module` is: beside the libopencv_core this process loaded,
/// under the same naming (Debian's `libopencv_X.so.406`), so the versions cannot differ.
std::string module_path(const char *module) {
    Dl_info info{};
    const std::string core = "libopencv_core";
    if (dladdr(reinterpret_cast<void *>(&cv::getNumberOfCPUs), &info) && info.dli_fname) {
        std::string path = info.dli_fname;
        size_t k = path.rfind(core);
        if (k != std::string::npos) return path.substr(0, k) + "libopencv_" + module + path.substr(k + core.size());
    }
    return std::string("libopencv_") + module + ".so";
}

struct Module {
    void *handle = nullptr;
    std::string error;  // why it could not be opened, or the first symbol not found

    explicit Module(const char *name) {
        std::string path = module_path(name);
        handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char *e = dlerror();
            error = "cannot load OpenCV's " + std::string(name) + " library " + path + " (" + (e ? e : "unknown error") +
                    "; on Debian: apt-get install libopencv-" + name + std::to_string(CV_VERSION_MAJOR * 100 + CV_VERSION_MINOR) + ")";
        }
    }

    template <typename F> F symbol(const char *mangled, const char *readable) {
        if (!handle) return nullptr;
        void *p = dlsym(handle, mangled);
        if (!p && error.empty()) error = std::string("OpenCV's library has no ") + readable + " (another OpenCV version?)";
        return reinterpret_cast<F>(p);
    }
};

struct Codecs {
    Module module{"imgcodecs"};
    mien::cvio::ImageCodecs fns{
        module.symbol<decltype(&cv::imread)>("_ZN2cv6imreadERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEi",
                                             "cv::imread"),
        module.symbol<decltype(&cv::imwrite)>(
            "_ZN2cv7imwriteERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_11_InputArrayERKSt6vectorIiSaIiEE",
            "cv::imwrite"),
        module.symbol<decltype(&cv::haveImageReader)>(
            "_ZN2cv15haveImageReaderERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE", "cv::haveImageReader"),
        module.symbol<decltype(&cv::haveImageWriter)>(
            "_ZN2cv15haveImageWriterERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE", "cv::haveImageWriter"),
    };
};

// A non-static member function is called with `this` as its first argument (Itanium C++ ABI).
using WriterConstructor = void (*)(cv::VideoWriter *);
using WriterOpen = bool (*)(cv::VideoWriter *, const std::string &, int, int, double, const cv::Size &,
                            const std::vector<int> &);

struct Writers {
    Module module{"videoio"};
    WriterConstructor construct = module.symbol<WriterConstructor>("_ZN2cv11VideoWriterC1Ev", "cv::VideoWriter::VideoWriter()");
    WriterOpen open = module.symbol<WriterOpen>(
        "_ZN2cv11VideoWriter4openERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEiidRKNS_5Size_IiEERKSt6vectorIiSaIiEE",
        "cv::VideoWriter::open(path, api, fourcc, fps, size, params)");
    bool ok() const { return construct && open; }
};

const Writers &writers() {
    static const Writers w;  // opened once, never closed: OpenCV keeps global state
    return w;
}

}  // namespace

namespace mien::cvio {

const ImageCodecs *image_codecs(std::string &why) {
    static const Codecs c;  // opened once, never closed: OpenCV keeps global state
    const ImageCodecs &f = c.fns;
    if (f.imread && f.imwrite && f.haveImageReader && f.haveImageWriter) return &f;
    why = c.module.error;
    return nullptr;
}

cv::VideoWriter *new_video_writer(std::string &why) {
    const Writers &w = writers();
    if (!w.ok()) {
        why = w.module.error;
        return nullptr;
    }
    void *storage = ::operator new(sizeof(cv::VideoWriter));
    try {
        w.construct(static_cast<cv::VideoWriter *>(storage));
    } catch (...) {
        ::operator delete(storage);
        throw;
    }
    return static_cast<cv::VideoWriter *>(storage);
}

bool open_video_writer(cv::VideoWriter &writer, const std::string &path, int api, int fourcc, double fps,
                       const cv::Size &size, const std::vector<int> &params) {
    return writers().open(&writer, path, api, fourcc, fps, size, params);
}

}  // namespace mien::cvio
