// Library messages through Mien's log (mien_vision.h), never raw to stderr:
//  - FFmpeg's: its av_log callback forwards to the sink Swift registers;
//  - OpenCV's own (its logger and its direct messages, both written to std::cerr): std::cerr's
//    buffer is replaced by one that forwards each line to the sink (no Swift or C code of
//    Mien's writes to std::cerr; C++ libraries do, and only they);
//  - libpng's and libjpeg's warnings, which those libraries print with fprintf(stderr, …) inside
//    OpenCV's imgcodecs (no hook reaches them): while a thread is inside an imgcodecs call
//    (`StdioCapture`), the C stream `stderr` is a stream whose writes from that thread go to the
//    sink; other threads' writes to it in that time pass straight through to file descriptor 2.
#include "mien_vision.h"
#include "shim_util.hpp"

#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <streambuf>
#include <string>
#include <opencv2/core/utils/logger.hpp>
extern "C" {
#include <libavutil/log.h>
}

namespace {

std::atomic<mien_log_sink> sink{nullptr};

/// Hands one line (without its line break) to the sink, or drops it when none is registered.
void emit(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    mien_log_sink s = sink.load(std::memory_order_acquire);
    if (!s || line.empty()) return;
    s(std::string(line).c_str());
}

/// Appends `n` bytes to a thread's pending text and emits each complete line.
void collect(std::string &pending, const char *bytes, size_t n) {
    pending.append(bytes, n);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
        emit(std::string_view(pending).substr(start, nl - start));
    pending.erase(0, start);
}

void forward(void *avcl, int level, const char *format, va_list args) {
    mien_log_sink s = sink.load(std::memory_order_acquire);
    if (!s || level > AV_LOG_WARNING) return;
    // One message may come in pieces (no newline yet): each piece is forwarded as its own line,
    // prefixed by the component FFmpeg names (e.g. "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x…]").
    thread_local int print_prefix = 1;
    char line[1024];
    av_log_format_line2(avcl, level, format, args, line, sizeof line, &print_prefix);
    emit(line);
}

/// std::cerr's buffer: whatever C++ code writes there, a line at a time to the sink. Unbuffered
/// (every write arrives here at once); each thread assembles its own lines.
class LogStreambuf final : public std::streambuf {
    static std::string &pending() {
        thread_local std::string text;
        return text;
    }

protected:
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        char ch = traits_type::to_char_type(c);
        collect(pending(), &ch, 1);
        return c;
    }
    std::streamsize xsputn(const char *s, std::streamsize n) override {
        collect(pending(), s, static_cast<size_t>(n));
        return n;
    }
};

/// The C stream that stands in for `stderr` during imgcodecs calls (see the top of the file).
struct StdioRedirect {
    std::mutex lock;
    int inside = 0;             // threads inside a capture scope
    FILE *saved = nullptr;      // `stderr` before the first of them entered
    FILE *stream = nullptr;     // the capturing stream (made once, never closed)

    static thread_local int capturing;  // this thread's open scopes
    static thread_local std::string pending;

    static ssize_t write(void *, const char *bytes, size_t n) {
        if (capturing == 0) {  // another thread's text: straight to file descriptor 2, as it would have gone
            size_t done = 0;
            while (done < n) {
                ssize_t w = ::write(STDERR_FILENO, bytes + done, n - done);
                if (w <= 0) break;
                done += static_cast<size_t>(w);
            }
            return static_cast<ssize_t>(n);
        }
        collect(pending, bytes, n);
        return static_cast<ssize_t>(n);
    }

    void enter() {
        std::lock_guard<std::mutex> guard(lock);
        if (!stream) {
            cookie_io_functions_t io{nullptr, &StdioRedirect::write, nullptr, nullptr};
            stream = fopencookie(nullptr, "w", io);
            if (stream) setvbuf(stream, nullptr, _IONBF, 0);  // each write reaches `write` on its own thread
        }
        if (!stream) return;
        if (capturing++ > 0) return;
        if (inside++ == 0) {
            saved = stderr;
            stderr = stream;
        }
    }

    void leave() {
        if (capturing == 0 || --capturing > 0) return;
        std::lock_guard<std::mutex> guard(lock);
        if (!pending.empty()) {  // a last line without its line break
            emit(pending);
            pending.clear();
        }
        if (--inside == 0) stderr = saved;
    }
};

thread_local int StdioRedirect::capturing = 0;
thread_local std::string StdioRedirect::pending;

StdioRedirect &stdio_redirect() {
    static StdioRedirect redirect;  // never destroyed: a library may print at exit
    return redirect;
}

}  // namespace

namespace mien {

void install_library_log() {
    static std::once_flag once;
    std::call_once(once, [] {
        av_log_set_level(AV_LOG_WARNING);
        av_log_set_callback(forward);
        // Never destroyed: std::cerr points at it to the end (it is flushed after static destructors).
        std::cerr.rdbuf(new LogStreambuf());
    });
}

StdioCapture::StdioCapture() {
    install_library_log();
    stdio_redirect().enter();
}

StdioCapture::~StdioCapture() { stdio_redirect().leave(); }

}  // namespace mien

extern "C" void mien_route_library_logs(mien_log_sink s, int verbose) {
    mien::install_library_log();
    sink.store(s, std::memory_order_release);
    cv::utils::logging::setLogLevel(verbose ? cv::utils::logging::LOG_LEVEL_WARNING : cv::utils::logging::LOG_LEVEL_SILENT);
}
