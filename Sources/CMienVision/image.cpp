// Still-image reading, resizing and colour conversion (see include/mien_image.h).
#include "mien_image.h"
#include "mat.hpp"
#include "opencv_io.hpp"
#include "shim_util.hpp"

#include <sys/stat.h>
#include <cstdio>
#include <vector>
#include <opencv2/imgproc.hpp>

extern "C" {

int mien_mat_width(const mien_mat *m) { return m ? m->m.cols : 0; }
int mien_mat_height(const mien_mat *m) { return m ? m->m.rows : 0; }
int mien_mat_channels(const mien_mat *m) { return m ? m->m.channels() : 0; }
size_t mien_mat_step(const mien_mat *m) { return m ? m->m.step[0] : 0; }
const uint8_t *mien_mat_data(const mien_mat *m) { return m ? m->m.data : nullptr; }
void mien_mat_destroy(mien_mat *m) { delete m; }

}  // extern "C"

namespace {

/// Reads up to `n` bytes from the start of the file.
std::vector<unsigned char> read_head(const char *path, size_t n) {
    std::vector<unsigned char> buf(n);
    FILE *f = std::fopen(path, "rb");
    if (!f) return {};
    size_t got = std::fread(buf.data(), 1, n, f);
    std::fclose(f);
    buf.resize(got);
    return buf;
}

/// Reads up to `n` bytes from the end of the file.
std::vector<unsigned char> read_tail(const char *path, size_t n) {
    FILE *f = std::fopen(path, "rb");
    if (!f) return {};
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    long start = size > (long)n ? size - (long)n : 0;
    std::fseek(f, start, SEEK_SET);
    std::vector<unsigned char> buf((size_t)(size - start));
    size_t got = std::fread(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    buf.resize(got);
    return buf;
}

uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
uint16_t le16(const unsigned char *p) { return (uint16_t)(p[1] << 8 | p[0]); }
int32_t le32(const unsigned char *p) { return (int32_t)((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]); }

enum class Fmt { unknown, png, jpeg, bmp, gif, pnm };

Fmt sniff(const std::vector<unsigned char> &h) {
    if (h.size() >= 8 && h[0] == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G') return Fmt::png;
    if (h.size() >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return Fmt::jpeg;
    if (h.size() >= 2 && h[0] == 'B' && h[1] == 'M') return Fmt::bmp;
    if (h.size() >= 6 && std::memcmp(h.data(), "GIF8", 4) == 0) return Fmt::gif;
    if (h.size() >= 2 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6') return Fmt::pnm;
    return Fmt::unknown;
}

/// Parses the image size out of the header bytes. Returns false if it cannot.
bool header_size(Fmt f, const std::vector<unsigned char> &h, long long &w, long long &hgt) {
    switch (f) {
    case Fmt::png:
        if (h.size() < 24 || std::memcmp(&h[12], "IHDR", 4) != 0) return false;
        w = be32(&h[16]); hgt = be32(&h[20]);
        return true;
    case Fmt::bmp:
        if (h.size() < 26) return false;
        w = le32(&h[18]); hgt = le32(&h[22]);
        if (hgt < 0) hgt = -hgt;
        if (w < 0) w = -w;
        return true;
    case Fmt::gif:
        if (h.size() < 10) return false;
        w = le16(&h[6]); hgt = le16(&h[8]);
        return true;
    case Fmt::jpeg: {
        size_t i = 2;
        while (i + 9 < h.size()) {
            if (h[i] != 0xFF) return false;
            unsigned char mk = h[i + 1];
            if (mk == 0xFF) { i++; continue; }
            if (mk == 0xD8 || (mk >= 0xD0 && mk <= 0xD7) || mk == 0x01) { i += 2; continue; }
            uint16_t len = be16(&h[i + 2]);
            bool sof = mk >= 0xC0 && mk <= 0xCF && mk != 0xC4 && mk != 0xC8 && mk != 0xCC;
            if (sof) { hgt = be16(&h[i + 5]); w = be16(&h[i + 7]); return true; }
            if (mk == 0xDA) return false;  // start of scan before any frame header
            i += 2 + len;
        }
        return false;
    }
    case Fmt::pnm: {
        // "P5 <ws> width <ws> height ..." with '#' comments allowed between tokens.
        size_t i = 2;
        long long vals[2];
        for (int k = 0; k < 2; k++) {
            for (;;) {
                while (i < h.size() && std::isspace(h[i])) i++;
                if (i < h.size() && h[i] == '#') { while (i < h.size() && h[i] != '\n') i++; continue; }
                break;
            }
            if (i >= h.size() || !std::isdigit(h[i])) return false;
            long long v = 0;
            while (i < h.size() && std::isdigit(h[i]) && v < (1LL << 40)) v = v * 10 + (h[i++] - '0');
            vals[k] = v;
        }
        w = vals[0]; hgt = vals[1];
        return true;
    }
    case Fmt::unknown:
        return false;
    }
    return false;
}

const char *fmt_name(Fmt f) {
    switch (f) {
    case Fmt::png: return "PNG";
    case Fmt::jpeg: return "JPEG";
    case Fmt::bmp: return "BMP";
    case Fmt::gif: return "GIF";
    case Fmt::pnm: return "PNM";
    default: return "image";
    }
}

}  // namespace

extern "C" {

mien_status mien_image_peek_size(const char *path, int *width, int *height, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!path || !width || !height) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        struct stat st;
        if (stat(path, &st) != 0) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "no such file");
        auto head = read_head(path, 64 * 1024);
        if (head.empty()) return mien::fail(err, err_len, MIEN_ERR_EMPTY, "the file is empty (0 bytes)");
        Fmt f = sniff(head);
        long long w = 0, h = 0;
        if (!header_size(f, head, w, h))
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "image header not parsed (PNG, JPEG, BMP, GIF, PNM only)");
        if (w > INT32_MAX || h > INT32_MAX)
            return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE, mien::fmt("header claims %lld x %lld pixels", w, h));
        *width = (int)w;
        *height = (int)h;
        return MIEN_OK;
    })
}

mien_status mien_image_read(const char *path, int channels, uint64_t max_pixels, mien_mat **out,
                            char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!path || !out) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null argument");
        *out = nullptr;
        if (channels != 1 && channels != 3)
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, mien::fmt("channels must be 1 or 3, got %d", channels));
        struct stat st;
        if (stat(path, &st) != 0) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "no such file");
        if (S_ISDIR(st.st_mode)) return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "is a directory, not an image file");
        if (st.st_size == 0) return mien::fail(err, err_len, MIEN_ERR_EMPTY, "the file is empty (0 bytes)");
        auto head = read_head(path, 64 * 1024);
        if (head.empty()) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "cannot open the file for reading (permissions?)");
        Fmt f = sniff(head);
        long long w = 0, h = 0;
        bool known = header_size(f, head, w, h);
        if (known) {
            if (w <= 0 || h <= 0)
                return mien::fail(err, err_len, MIEN_ERR_CORRUPT, mien::fmt("%s header claims %lld x %lld pixels", fmt_name(f), w, h));
            if (max_pixels > 0 && (unsigned long long)w * (unsigned long long)h > max_pixels)
                return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE,
                                  mien::fmt("%s is %lld x %lld = %lld pixels, above the limit of %llu pixels",
                                            fmt_name(f), w, h, w * h, (unsigned long long)max_pixels));
            if ((unsigned long long)w * (unsigned long long)h > (1ULL << 30))
                return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE,
                                  mien::fmt("%s is %lld x %lld pixels, above OpenCV's limit of 2^30 pixels", fmt_name(f), w, h));
        }
        if (f == Fmt::jpeg) {
            // libjpeg only *warns* on a truncated stream and fills the rest with gray, so OpenCV
            // returns an image: require the end-of-image marker FF D9 near the end instead.
            auto tail = read_tail(path, 4096);
            bool eoi = false;
            for (size_t i = 0; i + 1 < tail.size(); i++)
                if (tail[i] == 0xFF && tail[i + 1] == 0xD9) { eoi = true; break; }
            if (!eoi)
                return mien::fail(err, err_len, MIEN_ERR_CORRUPT, "JPEG is truncated (no end-of-image marker FF D9 in its last 4 KiB)");
        }
        std::string why;
        mien::cvio::ImageCodecs codecs{};
        if (!mien::cvio::image_codecs(codecs, why)) return mien::fail(err, err_len, MIEN_ERR_MISSING_LIBRARY, why);
        if (f == Fmt::unknown && !codecs.haveImageReader(path))
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "not an image format OpenCV can read");
        // Gray is made from the colour decode with cvtColor(BGR2GRAY), as the `fer` package
        // makes it: IMREAD_GRAYSCALE would use libjpeg's Y channel, which differs by a few levels
        // (chroma upsampling and rounding). (Video frames take the decoder's luma plane instead,
        // see video.cpp: no colour decode to start from there.)
        cv::Mat m = codecs.imread(path, cv::IMREAD_COLOR);
        if (m.empty())
            return mien::fail(err, err_len, MIEN_ERR_CORRUPT,
                              mien::fmt("%s data cannot be decoded (corrupt or truncated)", fmt_name(f)));
        if (max_pixels > 0 && (uint64_t)m.total() > max_pixels)
            return mien::fail(err, err_len, MIEN_ERR_TOO_LARGE,
                              mien::fmt("image is %d x %d pixels, above the limit of %llu pixels", m.cols, m.rows,
                                        (unsigned long long)max_pixels));
        if (m.depth() != CV_8U) {
            cv::Mat c;
            m.convertTo(c, CV_8U, m.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
            m = c;
        }
        if (channels == 1) {
            cv::Mat g;
            cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
            m = g;
        }
        *out = new mien_mat{m};
        return MIEN_OK;
    })
}

mien_status mien_resize_u8(const uint8_t *src, int w, int h, size_t src_step, int channels, uint8_t *dst,
                           int dst_w, int dst_h, mien_interp interp, char *err, size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!src || !dst) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "null buffer");
        if (w <= 0 || h <= 0 || dst_w <= 0 || dst_h <= 0 || (channels != 1 && channels != 3))
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT,
                              mien::fmt("bad sizes %dx%dx%d -> %dx%d", w, h, channels, dst_w, dst_h));
        int type = channels == 1 ? CV_8UC1 : CV_8UC3;
        cv::Mat s(h, w, type, const_cast<uint8_t *>(src), src_step);
        cv::Mat d(dst_h, dst_w, type, dst);
        cv::resize(s, d, d.size(), 0, 0, interp == MIEN_INTERP_AREA ? cv::INTER_AREA : cv::INTER_LINEAR);
        if (d.data != dst) return mien::fail(err, err_len, MIEN_ERR_INTERNAL, "resize reallocated the output");
        return MIEN_OK;
    })
}

mien_status mien_bgr_to_gray(const uint8_t *bgr, int w, int h, size_t src_step, uint8_t *gray, char *err,
                             size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!bgr || !gray || w <= 0 || h <= 0) return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "bad arguments");
        cv::Mat s(h, w, CV_8UC3, const_cast<uint8_t *>(bgr), src_step);
        cv::Mat d(h, w, CV_8UC1, gray);
        cv::cvtColor(s, d, cv::COLOR_BGR2GRAY);
        return MIEN_OK;
    })
}

mien_status mien_image_write(const char *path, const uint8_t *data, int w, int h, int channels, char *err,
                             size_t err_len) {
    MIEN_GUARD(err, err_len, {
        if (!path || !data || w <= 0 || h <= 0 || (channels != 1 && channels != 3))
            return mien::fail(err, err_len, MIEN_ERR_ARGUMENT, "bad arguments");
        cv::Mat m(h, w, channels == 1 ? CV_8UC1 : CV_8UC3, const_cast<uint8_t *>(data));
        std::string why;
        mien::cvio::ImageCodecs codecs{};
        if (!mien::cvio::image_codecs(codecs, why)) return mien::fail(err, err_len, MIEN_ERR_MISSING_LIBRARY, why);
        if (!codecs.haveImageWriter(path))
            return mien::fail(err, err_len, MIEN_ERR_UNSUPPORTED, "no image writer for this file extension");
        if (!codecs.imwrite(path, m)) return mien::fail(err, err_len, MIEN_ERR_NOT_FOUND, "cannot write the file");
        return MIEN_OK;
    })
}

}  // extern "C"
