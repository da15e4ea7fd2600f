// Library messages through Mien's log (mien_vision.h): FFmpeg's av_log callback forwards to the
// sink Swift registers; OpenCV's own log level follows `verbose`.
#include "mien_vision.h"
#include "shim_util.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <opencv2/core/utils/logger.hpp>
extern "C" {
#include <libavutil/log.h>
}

namespace {

std::atomic<mien_log_sink> sink{nullptr};

void forward(void *avcl, int level, const char *format, va_list args) {
    mien_log_sink s = sink.load(std::memory_order_acquire);
    if (!s || level > AV_LOG_WARNING) return;
    // One message may come in pieces (no newline yet): each piece is forwarded as its own line,
    // prefixed by the component FFmpeg names (e.g. "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x…]").
    thread_local int print_prefix = 1;
    char line[1024];
    av_log_format_line2(avcl, level, format, args, line, sizeof line, &print_prefix);
    size_t n = std::strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n > 0) s(line);
}

}  // namespace

namespace mien {

void install_library_log() {
    static std::once_flag once;
    std::call_once(once, [] {
        av_log_set_level(AV_LOG_WARNING);
        av_log_set_callback(forward);
    });
}

}  // namespace mien

extern "C" void mien_route_library_logs(mien_log_sink s, int verbose) {
    mien::install_library_log();
    sink.store(s, std::memory_order_release);
    cv::utils::logging::setLogLevel(verbose ? cv::utils::logging::LOG_LEVEL_WARNING : cv::utils::logging::LOG_LEVEL_SILENT);
}
