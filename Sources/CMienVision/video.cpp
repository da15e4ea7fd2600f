// Video files decoded with FFmpeg's libavformat + libavcodec, with verified frame-exact seeking
// (see include/mien_video.h).
//
// Why FFmpeg directly and not OpenCV's cv::VideoCapture (which wraps the same libraries):
// almost every caller wants GRAY8, and the gray image of a decoded YUV frame is its luma plane
// (copied for full-range video, expanded from 16–235 for limited range). VideoCapture
// converted every frame to BGR with swscale and we then converted BGR to gray with cvtColor —
// two colour conversions and their copies per frame for what is one plane copy. And OpenCV
// 4.6 gives no control of the decoder's thread count (it always asks for one per CPU, which
// stays the default here). BGR
// (channels 3), and pixel formats without an 8-bit luma plane, still go through swscale, set
// up as VideoCapture set it up: BGR frames of 8-bit YUV video are byte-identical to OpenCV's.
#include "mien_video.h"
#include "shim_util.hpp"

#include <sys/stat.h>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>
#include <opencv2/core.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace {

constexpr int64_t kStepLimit = 32;       // decode forward instead of seeking when this close
const int64_t kBackoffs[] = {0, 16, 64};  // how far before the target a verified seek may land
constexpr int64_t kPreroll = 16;         // a seek for frame s goes to the keyframe before frame s − 16

std::string av_message(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

/// FFmpeg's messages go to Mien's log, never raw to stderr (library_log.cpp).
void quiet_ffmpeg_logs() { mien::install_library_log(); }

const char *container_name(const char *path) {
    FILE *f = std::fopen(path, "rb");
    if (!f) return nullptr;
    unsigned char h[16] = {0};
    size_t n = std::fread(h, 1, sizeof h, f);
    std::fclose(f);
    if (n >= 12 && std::memcmp(h + 4, "ftyp", 4) == 0) return "MP4/MOV";
    if (n >= 12 && std::memcmp(h, "RIFF", 4) == 0 && std::memcmp(h + 8, "AVI ", 4) == 0) return "AVI";
    if (n >= 4 && h[0] == 0x1A && h[1] == 0x45 && h[2] == 0xDF && h[3] == 0xA3) return "Matroska/WebM";
    if (n >= 4 && std::memcmp(h + 4, "moov", 4) == 0) return "MOV";
    if (n >= 4 && std::memcmp(h + 4, "mdat", 4) == 0) return "MOV";
    if (n >= 9 && std::memcmp(h, "YUV4MPEG2", 9) == 0) return "Y4M";
    if (n >= 3 && h[0] == 'F' && h[1] == 'L' && h[2] == 'V') return "FLV";
    if (n >= 1 && h[0] == 0x47) return nullptr;  // possibly MPEG-TS; not claimed
    return nullptr;
}

/// One demuxer and decoder over a file's video stream.
struct Decoder {
    AVFormatContext *format = nullptr;
    AVCodecContext *codec = nullptr;
    AVPacket *packet = nullptr;
    AVStream *stream = nullptr;
    bool draining = false;     // the demuxer is done; the frames left in the decoder are being flushed out
    bool no_decoder = false;   // open failed because FFmpeg has no decoder for the codec

    Decoder() = default;
    Decoder(const Decoder &) = delete;
    Decoder &operator=(const Decoder &) = delete;
    ~Decoder() {
        avcodec_free_context(&codec);
        avformat_close_input(&format);
        av_packet_free(&packet);
    }

    /// Opens the best video stream of `path` and its decoder with `threads` threads (0 = FFmpeg's
    /// choice). Returns "" or why it cannot.
    std::string open(const char *path, int threads) {
        int r = avformat_open_input(&format, path, nullptr, nullptr);
        if (r < 0) return av_message(r);
        r = avformat_find_stream_info(format, nullptr);
        if (r < 0) return "cannot read the streams' parameters: " + av_message(r);
        const AVCodec *decoder = nullptr;
        r = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
        if (r == AVERROR_DECODER_NOT_FOUND) {
            no_decoder = true;
            for (unsigned i = 0; i < format->nb_streams; i++)
                if (format->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
                    return mien::fmt("FFmpeg has no decoder for its video codec '%s'",
                                     avcodec_get_name(format->streams[i]->codecpar->codec_id));
            return "FFmpeg has no decoder for its video codec";
        }
        if (r < 0) return "no video stream";
        stream = format->streams[r];
        codec = avcodec_alloc_context3(decoder);
        packet = av_packet_alloc();
        if (!codec || !packet) throw std::bad_alloc();
        r = avcodec_parameters_to_context(codec, stream->codecpar);
        if (r < 0) return "cannot set up the decoder: " + av_message(r);
        codec->thread_count = threads;
        r = avcodec_open2(codec, decoder, nullptr);
        if (r < 0) return mien::fmt("cannot open the %s decoder: %s", decoder->name, av_message(r).c_str());
        return "";
    }

    /// Decodes the next frame into `frame`: 0, AVERROR_EOF after the last frame, or the
    /// decoder's error for a packet it cannot decode (the next call goes on with the next packet).
    int next(AVFrame *frame) {
        for (;;) {
            int r = avcodec_receive_frame(codec, frame);
            if (r != AVERROR(EAGAIN)) return r;
            if (draining) return AVERROR_EOF;
            r = av_read_frame(format, packet);
            if (r == AVERROR(EAGAIN)) continue;
            if (r < 0) {
                // End of file, or a read error (a truncated file): as in FFmpeg's own tools the
                // stream ends there, and the frames the decoder still holds are flushed out.
                draining = true;
                r = avcodec_send_packet(codec, nullptr);
                if (r < 0 && r != AVERROR_EOF) return r;
                continue;
            }
            if (packet->stream_index != stream->index) {
                av_packet_unref(packet);
                continue;
            }
            r = avcodec_send_packet(codec, packet);  // never EAGAIN: the decoder's output was drained
            av_packet_unref(packet);
            if (r < 0) return r;
        }
    }

    /// Moves to the keyframe at or before `pts` (stream time base) and empties the decoder.
    bool seek(int64_t pts) {
        if (av_seek_frame(format, stream->index, pts, AVSEEK_FLAG_BACKWARD) < 0) return false;
        avcodec_flush_buffers(codec);
        draining = false;
        return true;
    }

    /// Seconds from the stream's start of a decoded frame (best-effort timestamp); NAN if none.
    double seconds(const AVFrame *f) const {
        if (f->best_effort_timestamp == AV_NOPTS_VALUE) return NAN;
        int64_t start = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
        return (double)(f->best_effort_timestamp - start) * av_q2d(stream->time_base);
    }
};

/// swscale for one output format, cached per input format, size and range: bicubic flag (no
/// scaling happens, so it only selects swscale's paths, as in OpenCV's VideoCapture) and an output
/// buffer whose rows are padded to 16 pixels (swscale's SIMD converters write whole blocks of 8 or
/// 16 pixels; with tight rows they leave the last pixels unconverted). The caller copies the
/// visible part out.
struct Scaler {
    SwsContext *context = nullptr;
    AVFrame *out = nullptr;
    int src_format = -1, width = 0, height = 0, src_full_range = -1;

    Scaler() = default;
    Scaler(const Scaler &) = delete;
    Scaler &operator=(const Scaler &) = delete;
    ~Scaler() {
        sws_freeContext(context);
        av_frame_free(&out);
    }

    /// Converts `f` to `format` in `out`; false if swscale cannot. With `set_ranges` the input is
    /// read as full range if `full_range` (else limited) and gray output is full range (0–255);
    /// without it swscale keeps its defaults (what OpenCV used: full range for the yuvj formats only).
    bool convert(const AVFrame *f, AVPixelFormat format, bool set_ranges, bool full_range) {
        int range = set_ranges ? (int)full_range : -1;
        if (!context || src_format != f->format || width != f->width || height != f->height || src_full_range != range) {
            sws_freeContext(context);
            context = sws_getContext(f->width, f->height, (AVPixelFormat)f->format, f->width, f->height, format, SWS_BICUBIC,
                                     nullptr, nullptr, nullptr);
            if (!context) return false;
            if (set_ranges) {
                const int *coefficients = sws_getCoefficients(SWS_CS_DEFAULT);
                sws_setColorspaceDetails(context, coefficients, full_range ? 1 : 0, coefficients, 1, 0, 1 << 16, 1 << 16);
            }
            av_frame_free(&out);
            out = av_frame_alloc();
            if (!out) throw std::bad_alloc();
            out->format = format;
            out->width = FFALIGN(f->width, 16);
            out->height = f->height;
            if (av_frame_get_buffer(out, 32) < 0) throw std::bad_alloc();
            src_format = f->format;
            width = f->width;
            height = f->height;
            src_full_range = range;
        }
        sws_scale(context, f->data, f->linesize, 0, f->height, out->data, out->linesize);
        return true;
    }
};

/// True if the first plane of `format` is 8-bit luma (or gray), one byte per pixel: planar and
/// semi-planar 8-bit YUV (yuv420p, yuvj420p, yuv422p, yuv444p, nv12, nv21, …) and gray8.
bool has_8bit_luma_plane(int format) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((AVPixelFormat)format);
    if (!d || d->nb_components < 1) return false;
    if (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM |
                    AV_PIX_FMT_FLAG_FLOAT | AV_PIX_FMT_FLAG_BAYER))
        return false;
    const AVComponentDescriptor &y = d->comp[0];
    return y.plane == 0 && y.step == 1 && y.offset == 0 && y.shift == 0 && y.depth == 8;
}

/// The pixel formats swscale reads as full range by themselves (FFmpeg's deprecated "yuvj" ones).
bool is_yuvj(int format) {
    return format == AV_PIX_FMT_YUVJ420P || format == AV_PIX_FMT_YUVJ422P || format == AV_PIX_FMT_YUVJ444P ||
           format == AV_PIX_FMT_YUVJ440P || format == AV_PIX_FMT_YUVJ411P;
}

/// Full-range ("JPEG", 0–255) luma: a yuvj format, or a frame tagged full range.
bool is_full_range(const AVFrame *f) { return is_yuvj(f->format) || f->color_range == AVCOL_RANGE_JPEG; }

/// Gray formats (one component): swscale, and so OpenCV, took their values as they are, whatever
/// the range tag says; the luma path does the same.
bool is_gray(int format) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((AVPixelFormat)format);
    return d && d->nb_components == 1;
}

/// Limited-range ("MPEG", 16–235) luma to full range: clamp(round((Y − 16) · 255 / 219)). Up to
/// rounding and clipping, the BT.601 gray of the BGR pixel swscale makes from (Y, U, V).
constexpr uint8_t limited_to_full(int y) {
    int v = y <= 16 ? 0 : ((y - 16) * 255 * 2 + 219) / (2 * 219);
    return (uint8_t)(v > 255 ? 255 : v);
}

/// `limited_to_full` in fixed point: (Y · 76309 − 16 · 76309 + 2¹⁵) >> 16, clamped. Unlike a
/// table lookup, a loop of it vectorises.
constexpr uint8_t limited_to_full_fixed(int y) {
    int v = (y * 76309 - 16 * 76309 + 32768) >> 16;
    return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

constexpr bool fixed_point_is_exact() {
    for (int y = 0; y < 256; y++)
        if (limited_to_full_fixed(y) != limited_to_full(y)) return false;
    return true;
}
static_assert(fixed_point_is_exact(), "the fixed-point expansion must equal the formula on every 8-bit value");

/// `limited_to_full` of a row, vectorised by the compiler (AVX2 where the CPU has it,
/// `target_clones`): 0.02 instead of 0.1 ms a 640×480 frame with a table, ~4 % of the main
/// job's CPU.
__attribute__((target_clones("avx2", "default")))
void limited_to_full_row(const uint8_t *src, uint8_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = limited_to_full_fixed(src[i]);
}

/// Clockwise degrees (0, 90, 180, 270) that turn the stored frames upright, from the stream's
/// display matrix, as FFmpeg's tools turn them (av_display_rotation_get gives the angle
/// counter-clockwise). OpenCV 4.6's VideoCapture used the angle's opposite for 90 and 270 and so
/// delivered portrait phone video upside down (opencv/opencv#22088).
int rotation_of(const AVStream *st) {
    const uint8_t *matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
    if (!matrix) return 0;
    double angle = av_display_rotation_get((const int32_t *)matrix);
    if (std::isnan(angle)) return 0;
    int degrees = ((int)std::lround(-angle) % 360 + 360) % 360;
    return degrees % 90 == 0 ? degrees : 0;
}

/// The codec's four-character code as OpenCV 4.6's CAP_PROP_FOURCC gave it (what `mien probe`
/// prints): the container's tag, else the first 4 characters of FFmpeg's codec name ("h264",
/// "mpeg" for mpeg4) if it has 4 or more, else none ("vp9").
void fourcc_of(const AVCodecParameters *par, char out[8]) {
    uint32_t tag = par->codec_tag;
    if (!tag && par->codec_id != AV_CODEC_ID_NONE) {
        const char *name = avcodec_get_name(par->codec_id);
        if (name && std::strlen(name) >= 4 && std::strcmp(name, "unknown_codec") != 0)
            tag = MKTAG(name[0], name[1], name[2], name[3]);
    }
    int k = 0;
    for (int i = 0; i < 4; i++) {
        char c = (char)((tag >> (8 * i)) & 0xFF);
        if (c >= 32 && c < 127) out[k++] = c;
    }
    out[k] = '\0';
}

}  // namespace

struct mien_video {
    std::string path;
    int threads = 0;
    std::unique_ptr<Decoder> decoder;  // null after a failed reopen
    AVFrame *frame = nullptr;          // the frame decoded last
    mien_video_info info{};
    int stored_width = 0, stored_height = 0;  // decoded frame size (info's is after rotation)
    int rotation = 0;                         // clockwise degrees applied to every frame
    double first_ts = 0;                      // frame 0's timestamp: index i is at first_ts + i / fps
    int64_t next = 0;          // index the next handed-out frame has (-1: unknown, mid-seek)
    bool pending = false;      // `frame` is frame `next`, decoded but not yet handed out
    double pending_ts = 0;
    int64_t current = -1;      // index of the frame retrieve() converts (-1: none)
    int64_t last_ts_index = -1;
    double last_ts = 0;
    mien_video_seek_stats stats{};
    Scaler bgr, gray;          // swscale for channels 3, and for gray from formats without a luma plane
    std::vector<uint8_t> scratch;  // a frame before rotation

    ~mien_video() { av_frame_free(&frame); }
};

namespace {

/// Opens (or reopens) the decoder at frame 0; "" or why it cannot.
std::string open_decoder(mien_video *v) {
    v->decoder.reset();
    v->next = 0;
    v->pending = false;
    v->current = -1;
    v->last_ts_index = -1;
    auto d = std::make_unique<Decoder>();
    std::string why = d->open(v->path.c_str(), v->threads);
    if (!why.empty()) return why;
    v->decoder = std::move(d);
    return "";
}

/// Timestamp (s) of the frame just decoded as frame `index`: its best-effort timestamp minus
/// the stream's start; a frame without one continues the previous frame's time by 1/fps.
double decoded_timestamp(mien_video *v, int64_t index) {
    double t = v->decoder->seconds(v->frame);
    double fps = v->info.fps > 0 ? v->info.fps : 25.0;
    if (std::isnan(t)) t = index > 0 && v->last_ts_index == index - 1 ? v->last_ts + 1.0 / fps : index / fps;
    v->last_ts = t;
    v->last_ts_index = index;
    return t;
}

/// Decodes the next frame into v->frame; MIEN_OK, MIEN_ERR_END, or MIEN_ERR_CORRUPT with `why`.
mien_status decode_next(mien_video *v, std::string &why) {
    if (!v->decoder) {
        why = "the video could not be reopened after a seek";
        return MIEN_ERR_CORRUPT;
    }
    int r = v->decoder->next(v->frame);
    if (r == AVERROR_EOF) return MIEN_ERR_END;
    if (r < 0) {
        why = mien::fmt("frame %lld cannot be decoded (%s)", (long long)v->next, av_message(r).c_str());
        return MIEN_ERR_CORRUPT;
    }
    v->stats.decoded++;
    return MIEN_OK;
}

/// Hands out the next frame: the pending one, or a newly decoded one.
mien_status grab_next(mien_video *v, int64_t *index, double *ts, std::string &why) {
    if (v->pending) {
        v->pending = false;
        v->current = v->next;
        *index = v->next;
        *ts = v->pending_ts;
        v->next++;
        return MIEN_OK;
    }
    v->current = -1;
    mien_status s = decode_next(v, why);
    if (s != MIEN_OK) return s;
    *index = v->next;
    *ts = decoded_timestamp(v, v->next);
    v->current = v->next;
    v->next++;
    return MIEN_OK;
}

/// Decodes forward so that the next frame handed out is `target` (>= v->next).
mien_status step_to(mien_video *v, int64_t target, std::string &why) {
    while (v->next < target) {
        int64_t i;
        double t;
        mien_status s = grab_next(v, &i, &t, why);
        if (s != MIEN_OK) return s;
    }
    return MIEN_OK;
}

/// Seeks to the keyframe before the time of frame s − 16 (as OpenCV's seek did) and decodes
/// forward to the frame whose timestamp says it is frame `s` (round((t − t₀) · fps) = s). Checks
/// that the frames decoded on the way are 1/fps apart — a gap or a repeat means the stream is not
/// constant-rate there, so timestamps do not identify indices — and that frame s − 1 was among
/// them, so a keyframe's time alone is never trusted. The 16 frames before the target make it
/// likely that a variable-rate stretch shows up as such. On success frame `s` is pending; on
/// failure the position is unknown.
bool seek_verified(mien_video *v, int64_t s) {
    v->pending = false;
    v->current = -1;
    v->last_ts_index = -1;
    v->next = -1;
    if (!v->decoder) return false;
    const double fps = v->info.fps;
    const AVStream *st = v->decoder->stream;
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    double before = s > kPreroll ? (double)(s - kPreroll) : 0.0;
    int64_t target = start + (int64_t)((v->first_ts + before / fps) / av_q2d(st->time_base) + 0.5);
    if (!v->decoder->seek(target)) return false;
    double previous = NAN;
    for (;;) {
        std::string why;
        if (decode_next(v, why) != MIEN_OK) return false;
        double t = v->decoder->seconds(v->frame);
        if (std::isnan(t)) return false;
        double at = (t - v->first_ts) * fps;
        if (!std::isnan(previous) && std::fabs(at - previous - 1) >= 0.5) return false;
        if (at < (double)s - 0.5) {
            previous = at;
            continue;
        }
        if (std::fabs(at - (double)s) >= 0.5) return false;   // landed past it
        if (s > 0 && std::isnan(previous)) return false;      // frame s − 1 not seen
        v->next = s;
        v->pending = true;
        v->pending_ts = t;
        v->current = s;
        v->last_ts = t;
        v->last_ts_index = s;
        return true;
    }
}

/// Writes a w×h plane of `channels` bytes a pixel (rows `stride` apart) into the caller's tightly
/// packed buffer (limited-range luma expanded to full range when `limited`), turned clockwise by
/// the video's rotation.
void emit(mien_video *v, const uint8_t *src, int stride, int w, int h, int channels, bool limited, uint8_t *dst) {
    size_t row = (size_t)w * channels;
    uint8_t *out = dst;
    if (v->rotation != 0) {
        v->scratch.resize(row * h);
        out = v->scratch.data();
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (ptrdiff_t)y * stride;
        uint8_t *d = out + row * y;
        if (limited)
            limited_to_full_row(s, d, row);
        else
            std::memcpy(d, s, row);
    }
    if (v->rotation == 0) return;
    int type = channels == 1 ? CV_8UC1 : CV_8UC3;
    cv::Mat upright(v->rotation == 180 ? h : w, v->rotation == 180 ? w : h, type, dst);
    cv::rotate(cv::Mat(h, w, type, out), upright,
               v->rotation == 90 ? cv::ROTATE_90_CLOCKWISE : v->rotation == 180 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE);
    if (upright.data != dst) throw std::runtime_error("rotation reallocated the output");
}

}  // namespace

extern "C" {

void mien_set_num_threads(int n) { cv::setNumThreads(n <= 0 ? -1 : n); }
int mien_get_num_threads(void) { return cv::getNumThreads(); }

mien_status mien_video_open(const char *path, uint64_t max_pixels, int decoder_threads, mien_video **out, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!path || !out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = nullptr;
        if (decoder_threads < 0)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("decoder thread count %d is negative (0 = FFmpeg's choice)", decoder_threads));
        quiet_ffmpeg_logs();
        struct stat st;
        if (stat(path, &st) != 0) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "no such file");
        if (S_ISDIR(st.st_mode)) return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "is a directory, not a video file");
        if (st.st_size == 0) return mien::fail(err, err_len, MIEN_ERR_EMPTY, "the file is empty (0 bytes)");
        FILE *probe = std::fopen(path, "rb");
        if (!probe) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "cannot open the file for reading (permissions?)");
        std::fclose(probe);
        const char *container = container_name(path);
        std::unique_ptr<mien_video> v(new mien_video());
        v->path = path;
        v->threads = decoder_threads;
        v->frame = av_frame_alloc();
        if (!v->frame) throw std::bad_alloc();
        auto d = std::make_unique<Decoder>();
        std::string why = d->open(path, decoder_threads);
        if (!why.empty()) {
            if (d->no_decoder) return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, why);
            if (container)
                return mien::fail(err, err_len, MIEN_ERR_CORRUPT,
                                  mien::fmt("looks like %s but FFmpeg cannot open it (truncated or damaged: e.g. an MP4 whose index, the moov box, is missing): %s",
                                            container, why.c_str()));
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "not a video FFmpeg can open (" + why + ")");
        }
        v->decoder = std::move(d);
        const AVFormatContext *fc = v->decoder->format;
        const AVStream *vs = v->decoder->stream;
        int w = vs->codecpar->width, h = vs->codecpar->height;
        if (w <= 0 || h <= 0)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, mien::fmt("the video stream reports a size of %d x %d", w, h));
        if (max_pixels > 0 && (uint64_t)w * (uint64_t)h > max_pixels)
            return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE,
                              mien::fmt("frames are %d x %d = %llu pixels, above the limit of %llu pixels", w, h,
                                        (unsigned long long)w * h, (unsigned long long)max_pixels));
        // Rate and count as OpenCV 4.6 reported them: av_guess_frame_rate; the stream's frame
        // count, else round(duration · fps) with the container's duration (the stream's if none).
        double guessed = av_q2d(av_guess_frame_rate(v->decoder->format, v->decoder->stream, nullptr));
        mien_video_info &info = v->info;
        info.fps = guessed > 0 && guessed <= 1000 ? guessed : 0;
        double n = (double)vs->nb_frames;
        if (vs->nb_frames == 0) {
            double seconds = (double)fc->duration / AV_TIME_BASE;
            if (seconds < 0.000025) seconds = (double)vs->duration * av_q2d(vs->time_base);
            n = std::floor(seconds * guessed + 0.5);
        }
        info.frame_count = n > 0 ? (int64_t)std::llround(n) : 0;
        info.frame_count_exact = 0;
        info.duration = info.fps > 0 ? info.frame_count / info.fps : 0;
        fourcc_of(vs->codecpar, info.fourcc);
        // Decode frame 0 now: a file that opens but cannot decode a frame is corrupt.
        if (decode_next(v.get(), why) != MIEN_OK)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "the video opens but no frame can be decoded (damaged or truncated stream)");
        v->stored_width = v->frame->width > 0 ? v->frame->width : w;
        v->stored_height = v->frame->height > 0 ? v->frame->height : h;
        v->rotation = rotation_of(vs);
        bool turned = v->rotation == 90 || v->rotation == 270;
        info.width = turned ? v->stored_height : v->stored_width;
        info.height = turned ? v->stored_width : v->stored_height;
        v->pending = true;
        v->pending_ts = decoded_timestamp(v.get(), 0);
        v->first_ts = v->pending_ts;
        v->current = 0;
        *out = v.release();
        return MIEN_OK;
    })
}

int mien_video_default_decoder_threads(void) { return std::max(1, cv::getNumberOfCPUs()); }

void mien_video_destroy(mien_video *v) {
    try {
        delete v;
    } catch (...) {
    }
}

void mien_video_get_info(const mien_video *v, mien_video_info *info) {
    if (v && info) *info = v->info;
}

void mien_video_get_seek_stats(const mien_video *v, mien_video_seek_stats *stats) {
    if (v && stats) *stats = v->stats;
}

mien_status mien_video_count_frames(mien_video *v, int64_t *count, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v || !count) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        Decoder d;
        std::string why = d.open(v->path.c_str(), v->threads);
        if (!why.empty()) return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "cannot reopen the video to count its frames: " + why);
        std::unique_ptr<AVFrame, void (*)(AVFrame *)> f(av_frame_alloc(), [](AVFrame *p) { av_frame_free(&p); });
        if (!f) throw std::bad_alloc();
        int64_t n = 0;
        for (;;) {
            int r = d.next(f.get());
            if (r == AVERROR_EOF) break;
            if (r < 0)
                return mien::fail(err, err_len, MIEN_ERR_CORRUPT,
                                  mien::fmt("frame %lld cannot be decoded (%s)", (long long)n, av_message(r).c_str()));
            n++;
        }
        v->info.frame_count = n;
        v->info.frame_count_exact = 1;
        v->info.duration = v->info.fps > 0 ? n / v->info.fps : 0;
        *count = n;
        return MIEN_OK;
    })
}

mien_status mien_video_seek(mien_video *v, int64_t index, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null video");
        if (index < 0) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("frame index %lld is negative", (long long)index));
        if (v->info.frame_count_exact && index >= v->info.frame_count)
            return mien::fail(err, err_len, MIEN_ERR_END,
                              mien::fmt("frame %lld is past the last frame (%lld frames)", (long long)index, (long long)v->info.frame_count));
        std::string why;
        auto finish = [&](mien_status s) {
            if (s == MIEN_OK) return MIEN_OK;
            if (s == MIEN_ERR_END)
                return mien::fail(err, err_len, MIEN_ERR_END, mien::fmt("the video ends before frame %lld", (long long)index));
            return mien::fail(err, err_len, s, why);
        };
        if (v->decoder && index == v->next) return MIEN_OK;
        if (v->decoder && index > v->next && index - v->next <= kStepLimit) {
            v->stats.stepped++;
            return finish(step_to(v, index, why));
        }
        if (v->info.fps > 0) {
            for (int64_t back : kBackoffs) {
                int64_t s = index - back > 0 ? index - back : 0;
                if (!seek_verified(v, s)) continue;
                if (back == 0) v->stats.direct++; else v->stats.backoff++;
                return finish(step_to(v, index, why));
            }
        }
        // Last resort: reopen and decode from the start (exact by definition of the index).
        v->stats.sequential++;
        why = open_decoder(v);
        if (!why.empty()) return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "cannot reopen the video to seek: " + why);
        return finish(step_to(v, index, why));
    })
}

mien_status mien_video_grab(mien_video *v, int64_t *index, double *timestamp, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v || !index || !timestamp) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        std::string why;
        mien_status s = grab_next(v, index, timestamp, why);
        if (s == MIEN_ERR_END) return mien::fail(err, err_len, MIEN_ERR_END, "end of video");
        if (s != MIEN_OK) return mien::fail(err, err_len, s, why);
        return MIEN_OK;
    })
}

mien_status mien_video_retrieve(mien_video *v, int channels, uint8_t *dst, size_t dst_len, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!v || !dst) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        if (channels != 1 && channels != 3) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "channels must be 1 or 3");
        if (v->current < 0 || v->pending) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "no grabbed frame to retrieve");
        size_t need = (size_t)v->info.width * v->info.height * channels;
        if (dst_len < need) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("buffer of %zu bytes, need %zu", dst_len, need));
        const AVFrame *f = v->frame;
        const int w = v->stored_width, h = v->stored_height;
        if (!f->data[0] || f->width != w || f->height != h)
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT,
                              mien::fmt("frame %lld is %d x %d, the stream's first frame was %d x %d", (long long)v->current,
                                        f->width, f->height, w, h));
        if (channels == 1 && has_8bit_luma_plane(f->format)) {
            bool as_is = is_full_range(f) || is_gray(f->format);
            emit(v, f->data[0], f->linesize[0], w, h, 1, !as_is, dst);
            return MIEN_OK;
        }
        Scaler &scaler = channels == 1 ? v->gray : v->bgr;
        // Gray: the frame's range in, full range out. BGR as OpenCV made it (swscale's default
        // ranges), except that a frame tagged full range in a non-yuvj format is read as full
        // range, as the gray path reads it (swscale's default would stretch it again).
        bool set_ranges = channels == 1 || (f->color_range == AVCOL_RANGE_JPEG && !is_yuvj(f->format));
        if (!scaler.convert(f, channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_BGR24, set_ranges, is_full_range(f)))
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED,
                              mien::fmt("frame %lld: swscale cannot convert pixel format %s", (long long)v->current,
                                        av_get_pix_fmt_name((AVPixelFormat)f->format)));
        emit(v, scaler.out->data[0], scaler.out->linesize[0], w, h, channels, false, dst);
        return MIEN_OK;
    })
}

}  // extern "C"
