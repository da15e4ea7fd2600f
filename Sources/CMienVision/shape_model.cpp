// A flat, cache-friendly evaluator of dlib's shape-predictor models (see shape_model.hpp).
//
// Why hand-written: dlib's shape_predictor::operator() (dlib 19.24) keeps every regression tree
// as a std::vector of splits plus a std::vector of leaves, each leaf a dlib::matrix in its own
// heap block, so each of the 7500 trees of a fit (15 cascade levels × 500 trees in both face
// models) costs several dependent cache misses (the tree's vectors, its splits, the leaf's
// pointer, the leaf); it evaluates one face at a time, and Mien had to copy the pixels around the
// face into a dlib::array2d first. No library offers a flat evaluator of dlib's model format
// (OpenCV's facemark models are formats of their own).
//
// Layout, per cascade level: the feature pixels (anchor, offset) in arrays; the splits of all its
// trees in one block, tree after tree, 32 bits a split (one cache line per tree), read in order;
// the leaves of all its trees in another block, tree after tree, each leaf padded to whole cache
// lines.
//
// Evaluation, per level: dlib's similarity transform from the mean shape to the current one; the
// feature pixels, read straight from the caller's image; every tree walked to its leaf, eight
// side by side; the chosen leaves added to the shape in tree order (dlib's order, so the float
// sums are the same), each prefetched some trees ahead.
//
// The maths is dlib's (extract_feature_pixel_values, regression_tree::operator(),
// shape_predictor::operator() in dlib/image_processing/shape_predictor.h), written out operation
// by operation where the floating-point order matters (dlib's small matrix products sum left to
// right), with the transforms from dlib's own functions, so the results equal dlib's exactly; the
// tests compare both leaf by leaf. FP_CONTRACT is off so that no compiler fuses a multiply and an
// add that dlib rounds separately.
#include "shape_model.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/serialize.h>

#pragma STDC FP_CONTRACT OFF

namespace mien {

namespace {

constexpr size_t cache_line = 64;

static_assert(sizeof(ShapeModel::Split) == 4, "a split packs into 32 bits");

/// dlib's rounding of a point to whole pixels (dlib::vector<long,2> from vector<double,2>:
/// floor(v + 0.5)) for |v| < 2^30, without a call to floor (x86-64 without SSE4.1 has no
/// rounding instruction) and in 32 bits, so that the feature loop vectorises. Larger values and
/// NaN clamp to ±2^30, outside any image.
inline int32_t to_pixel(double v) {
    constexpr double limit = 1 << 30;
    double t = v + 0.5;
    t = t > -limit ? (t < limit ? t : limit) : -limit;
    const int32_t i = (int32_t)t;
    return i - (int32_t)((double)i > t);
}

[[noreturn]] void corrupt(const std::string &what) {
    throw dlib::serialization_error("inconsistent shape-predictor model: " + what);
}

/// dlib's own decoding: each value through dlib::deserialize and the stream (the reference the
/// ByteDecoder is tested and timed against).
struct StreamDecoder {
    std::istream &in;
    template <class T>
    void operator()(T &value) {
        using dlib::deserialize;
        deserialize(value, in);
    }
    /// Unknown: nothing is reserved.
    size_t bytes_left() const { return 0; }
};

/// The fewest bytes dlib's format spends on a value of each type: an integer (or a vector's
/// length) its control byte and at least one byte; a float two integers; a matrix its rows and
/// columns; a point two floats; a split two integers and a float.
template <class T>
constexpr size_t min_bytes = 2;
template <>
constexpr size_t min_bytes<float> = 4;
template <>
constexpr size_t min_bytes<dlib::matrix<float, 0, 1>> = 4;
template <>
constexpr size_t min_bytes<dlib::vector<float, 2>> = 8;
template <>
constexpr size_t min_bytes<dlib::impl::split_feature> = 8;

/// dlib's serialisation format (dlib/serialize.h, dlib 19.24) decoded from bytes in memory.
///
/// Why hand-written: dlib decodes every value through std::streambuf calls (an integer's control
/// byte with sbumpc, its bytes with sgetn; a float is a peek and two integers), ~40 ns a float,
/// and a model is millions of values (1.3 million floats in the 5-point model): loading it took
/// ~50 ms, on the critical path of every process start. No library decodes dlib's format. This
/// decoder reads exactly the values dlib reads, in the same order, to the same bits, and fails
/// wherever dlib fails (a truncated file, a control byte out of range, a matrix that is not a
/// column vector), with a message naming the byte. The tests load models both ways and compare them bit for bit.
///
/// Lengths read from the file are checked against the bytes left before anything is allocated
/// (every element takes at least `min_bytes` of them), so a garbled length cannot make the reader
/// allocate much more than the file holds.
class ByteDecoder {
public:
    ByteDecoder(const unsigned char *data, size_t size) : begin(data), p(data), end(data + size) {}

    void operator()(int &value) { value = signed_int<int>("an int"); }
    void operator()(unsigned long &value) { value = unsigned_int<unsigned long>("an unsigned long"); }

    /// dlib's deserialize_floating_point: a mantissa (64-bit integer) and a binary exponent
    /// (16-bit integer); the value is mantissa × 2^exponent, or +∞, −∞, NaN for the exponents
    /// 32000, 32001, ≥ 32002 (dlib's float_details, converted as its operator float does).
    [[gnu::always_inline]] void operator()(float &value) {
        need(1, "a float");
        // dlib reads a float whose first byte has any of the bits 0x70 set (never so in a
        // control byte) as text: its format before 2013, older than its shape predictor (2014).
        if (*p & 0x70) fail("a float in dlib's old text format (first byte " + hex(*p) + ")");
        const int64_t mantissa = signed_int<int64_t>("a float's mantissa");
        const int16_t exponent = signed_int<int16_t>("a float's exponent");
        if (exponent < 32000)
            value = ldexp(mantissa, exponent);
        else if (exponent == 32000)
            value = std::numeric_limits<float>::infinity();
        else if (exponent == 32001)
            value = -std::numeric_limits<float>::infinity();
        else
            value = std::numeric_limits<float>::quiet_NaN();
    }

    /// A column vector: rows and columns (longs, written negated by today's dlib and positive by
    /// older versions; dlib negates both if either is negative), then the elements.
    void operator()(dlib::matrix<float, 0, 1> &m) {
        long rows = signed_int<long>("a matrix's rows"), cols = signed_int<long>("a matrix's columns");
        if (rows < 0 || cols < 0) {
            rows = (long)(0 - (unsigned long)rows);
            cols = (long)(0 - (unsigned long)cols);
        }
        if (cols != 1) fail("a column vector with " + dlib::cast_to_string(cols) + " columns");
        if (rows < 0) fail("a column vector with " + dlib::cast_to_string(rows) + " rows");
        m.set_size(count((unsigned long)rows, min_bytes<float>, "rows of a column vector"), 1);
        for (float &x : m) (*this)(x);
    }

    void operator()(dlib::vector<float, 2> &v) {
        (*this)(v.x());
        (*this)(v.y());
    }

    void operator()(dlib::impl::split_feature &s) {
        (*this)(s.idx1);
        (*this)(s.idx2);
        (*this)(s.thresh);
    }

    void operator()(dlib::impl::regression_tree &tree) {
        (*this)(tree.splits);
        (*this)(tree.leaf_values);
    }

    size_t bytes_left() const { return (size_t)(end - p); }

    /// A std::vector: its length (an unsigned long), then the elements.
    template <class T>
    void operator()(std::vector<T> &v) {
        unsigned long length = 0;
        (*this)(length);
        v.resize(count(length, min_bytes<T>, "elements of a vector"));
        for (T &x : v) (*this)(x);
    }

private:
    const unsigned char *const begin;
    const unsigned char *p;
    const unsigned char *const end;

    [[noreturn, gnu::noinline, gnu::cold]] void fail(const std::string &what) const {
        throw dlib::serialization_error(what + " at byte " + dlib::cast_to_string(p - begin) + " of " +
                                        dlib::cast_to_string(end - begin));
    }

    void need(size_t n, const char *what) const {
        if (__builtin_expect((size_t)(end - p) < n, 0)) truncated(what);
    }

    [[noreturn, gnu::noinline, gnu::cold]] void truncated(const char *what) const {
        fail(std::string("truncated inside ") + what + " starting");
    }

    [[noreturn, gnu::noinline, gnu::cold]] void bad_control(unsigned char control, size_t size, const char *what) const {
        fail("bad control byte " + hex(control) + " (" + dlib::cast_to_string(size) + " bytes) of " + what);
    }

    /// float_details' conversion, std::ldexp((float)mantissa, exponent), bit for bit. ldexpf is a
    /// call into libm (a sixth of the decoding time); for the exponents of a normal double,
    /// mantissa × 2^exponent is exact in double, so converting it to float rounds once, as
    /// ldexpf does (checked against it on 5 × 10^8 mantissas and exponents, subnormal and
    /// overflowing results included).
    static float ldexp(int64_t mantissa, int exponent) {
        if (exponent < -1022 || exponent > 1023) return std::ldexp((float)mantissa, exponent);
        const uint64_t bits = (uint64_t)(exponent + 1023) << 52;
        double scale;
        std::memcpy(&scale, &bits, sizeof scale);
        return (float)((double)(float)mantissa * scale);
    }

    static std::string hex(unsigned char byte) {
        char text[8];
        std::snprintf(text, sizeof text, "0x%02x", byte);
        return text;
    }

    /// A length from the file, if the bytes left can hold that many elements.
    [[gnu::always_inline]] size_t count(unsigned long n, size_t element_bytes, const char *what) const {
        if (n > (size_t)(end - p) / element_bytes)
            fail(dlib::cast_to_string(n) + " " + what + ", more than the bytes left can hold,");
        return (size_t)n;
    }

    /// ser_helper::unpack_int's control byte and little-endian bytes.
    [[gnu::always_inline]] uint64_t magnitude(unsigned char control, size_t size, size_t max_size, const char *what) {
        if (__builtin_expect(size == 0 || size > max_size, 0)) bad_control(control, size, what);
        need(1 + size, what);
        uint64_t v = 0;
        if (end - p >= 9) {
            // The 8 bytes after the control byte, masked to `size` (no loop whose length, 1 to
            // 3 bytes in a model, the branch predictor would have to guess).
            std::memcpy(&v, p + 1, 8);
            if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) v = __builtin_bswap64(v);
            v &= ~uint64_t(0) >> (64 - 8 * size);
        } else {
            for (size_t i = size; i > 0; i--) v = v << 8 | p[i];
        }
        p += 1 + size;
        return v;
    }

    /// dlib's signed integers: control byte = sign (0x80) | byte count (low 4 bits; the bits 0x70
    /// are ignored), then the magnitude. dlib assembles the bytes in a T and negates it, both
    /// modulo 2^bits, as the unsigned arithmetic here does.
    template <class T>
    [[gnu::always_inline]] T signed_int(const char *what) {
        static_assert(std::is_signed_v<T> && sizeof(T) <= 8);
        using U = std::make_unsigned_t<T>;
        need(1, what);
        const unsigned char control = *p;
        const U bits = (U)magnitude(control, control & 0x0F, sizeof(T), what);
        return (T)(control & 0x80 ? U(0 - bits) : bits);
    }

    /// dlib's unsigned integers: control byte = byte count (the bits 0x70 are ignored; a sign bit
    /// makes the count too large), then the value.
    template <class T>
    [[gnu::always_inline]] T unsigned_int(const char *what) {
        static_assert(std::is_unsigned_v<T> && sizeof(T) <= 8);
        need(1, what);
        const unsigned char control = *p;
        return (T)magnitude(control, control & 0x8F, sizeof(T), what);
    }
};

/// Walks G consecutive trees to their leaves side by side (G independent chains of dependent
/// loads for the CPU to overlap): dlib's regression_tree::operator(), from the root, left when
/// the split's pixel difference exceeds its threshold. Writes each tree's leaf index to `leaf`.
template <size_t G>
inline void walk(const ShapeModel::Split *splits, size_t split_slots, size_t depth, const int32_t *features,
                 size_t *leaf) {
    size_t node[G] = {};
    for (size_t d = 0; d < depth; d++)
        for (size_t k = 0; k < G; k++) {
            const ShapeModel::Split s = splits[k * split_slots + node[k]];
            node[k] = 2 * node[k] + 2 - (size_t)(features[s.idx1] - features[s.idx2] > s.thresh);
        }
    for (size_t k = 0; k < G; k++) leaf[k] = node[k] - (split_slots - 1);
}

}  // namespace

template <class Decoder>
ShapeModel ShapeModel::decode(Decoder &read) {
    // dlib::deserialize(shape_predictor&, istream&) reads: version, initial_shape, forests,
    // anchor_idx, deltas. The forests (a vector of levels, each a vector of trees) are read here
    // tree by tree into the flat blocks, so dlib's per-leaf allocations never exist all at once.
    int version = 0;
    read(version);
    if (version != 1) throw dlib::serialization_error("Unexpected version found while deserializing dlib::shape_predictor.");
    ShapeModel m;
    read(m.initial_shape);
    const size_t shape_size = (size_t)m.initial_shape.size();
    if (shape_size == 0 || shape_size % 2 != 0) corrupt(dlib::cast_to_string(shape_size) + " shape coordinates");
    m.leaf_stride = (shape_size + 15) / 16 * 16;
    m.prefetch_trees = std::max<size_t>(1, cache_line / (m.leaf_stride * sizeof(float) / cache_line));

    // Lengths come from the file: levels and trees are appended as they are read, so a garbled
    // length ends in a read error, not a huge allocation. (A std::vector's length is an
    // unsigned long before its elements.)
    unsigned long level_count = 0;
    read(level_count);
    std::vector<unsigned long> max_feature;
    dlib::impl::regression_tree tree;
    for (unsigned long c = 0; c < level_count; c++) {
        ShapeModel::Level &level = m.levels.emplace_back();
        max_feature.push_back(0);
        unsigned long trees = 0;
        read(trees);
        level.trees = trees;
        for (size_t t = 0; t < level.trees; t++) {
            read(tree);
            const size_t splits = tree.splits.size(), leaves = tree.leaf_values.size();
            if (leaves != splits + 1 || (leaves & splits) != 0) corrupt("a tree that is not complete");
            if (m.leaves_per_tree == 0) {
                m.leaves_per_tree = leaves;
                m.split_slots = leaves;
                m.depth = (size_t)__builtin_ctzl(leaves);
            } else if (leaves != m.leaves_per_tree) {
                throw unsupported_model("trees of different depths");
            }
            if (t == 0) {
                // Room for the level's trees, or for as many as the bytes left can hold (a leaf
                // takes at least 4 bytes a float), so that a garbled count reserves no more.
                const size_t tree_bytes = leaves * 4 * (shape_size + 1);
                const size_t trees = std::min(level.trees, 1 + read.bytes_left() / tree_bytes);
                level.splits.reserve(trees * m.split_slots);
                level.leaves.reserve(trees * m.leaves_per_tree * m.leaf_stride);
            }
            for (const dlib::impl::split_feature &s : tree.splits) {
                if (s.idx1 >= ShapeModel::max_features || s.idx2 >= ShapeModel::max_features)
                    throw unsupported_model("more than 2048 feature pixels in a cascade level");
                max_feature.back() = std::max({max_feature.back(), s.idx1, s.idx2});
                const int thresh = std::isnan(s.thresh) || s.thresh >= 255 ? 255 : s.thresh < -256 ? -256 : (int)std::floor(s.thresh);
                level.splits.push_back({(uint32_t)s.idx1, (uint32_t)s.idx2, thresh});
            }
            level.splits.push_back({0, 0, 0});
            // The tree's leaves, each padded with zeros to the leaf stride.
            size_t at = level.leaves.size();
            level.leaves.resize(at + leaves * m.leaf_stride, 0.0f);
            for (const dlib::matrix<float, 0, 1> &leaf : tree.leaf_values) {
                if ((size_t)leaf.size() != shape_size) corrupt("a leaf of the wrong size");
                std::copy(leaf.begin(), leaf.end(), level.leaves.begin() + at);
                at += m.leaf_stride;
            }
        }
        level.splits.shrink_to_fit();
        level.leaves.shrink_to_fit();
        m.total_trees += level.trees;
    }

    std::vector<std::vector<unsigned long>> anchor_idx;
    std::vector<std::vector<dlib::vector<float, 2>>> deltas;
    read(anchor_idx);
    read(deltas);
    if (anchor_idx.size() != m.levels.size() || deltas.size() != m.levels.size()) corrupt("feature pixels for a different number of levels");
    for (size_t c = 0; c < m.levels.size(); c++) {
        ShapeModel::Level &level = m.levels[c];
        const size_t n = anchor_idx[c].size();
        if (deltas[c].size() != n) corrupt("feature pixels without offsets");
        if (level.trees > 0 && max_feature[c] >= n) corrupt("a split on a feature pixel that does not exist");
        for (size_t i = 0; i < n; i++) {
            if (anchor_idx[c][i] >= shape_size / 2) corrupt("a feature pixel anchored to a point that does not exist");
            level.anchor.push_back((uint32_t)(2 * anchor_idx[c][i]));
            level.dx.push_back(deltas[c][i].x());
            level.dy.push_back(deltas[c][i].y());
        }
    }
    return m;
}

void deserialize(ShapeModel &model, std::istream &in) {
    StreamDecoder decoder{in};
    model = ShapeModel::decode(decoder);
}

void load(ShapeModel &model, const unsigned char *data, size_t size) {
    ByteDecoder decoder(data, size);
    model = ShapeModel::decode(decoder);
}

void load(ShapeModel &model, const std::string &path) {
    // The file mapped, not read: reading the 68-point model (100 MB) into a buffer costs ~50 ms
    // more, mostly in page faults on the fresh buffer. (A file truncated by another process while
    // it is being decoded would raise SIGBUS; model files are not rewritten in place.)
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw dlib::serialization_error("cannot open " + path + ": " + std::strerror(errno));
    struct stat st;
    const bool stated = ::fstat(fd, &st) == 0;
    const size_t size = stated ? (size_t)st.st_size : 0;
    void *mapped = size > 0 ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
    const int error = errno;
    ::close(fd);
    if (!stated || mapped == MAP_FAILED) throw dlib::serialization_error("cannot read " + path + ": " + std::strerror(error));
    struct Unmap {
        void *mapped;
        size_t size;
        ~Unmap() {
            if (mapped) ::munmap(mapped, size);
        }
    } unmap{mapped, size};
    const unsigned char *data = (const unsigned char *)mapped;
    try {
        load(model, data, size);
    } catch (const dlib::serialization_error &e) {
        // As dlib's hint: its models are distributed bzip2-compressed (.dat.bz2).
        const bool bzip2 = size >= 4 && std::memcmp(data, "BZh", 3) == 0 && data[3] >= '1' && data[3] <= '9';
        if (bzip2) throw dlib::serialization_error(std::string(e.what()) + " (the file is bzip2-compressed: decompress it first)");
        throw;
    }
}

template <class Array>
static bool bitwise_equal(const Array &a, const Array &b) {
    return a.size() == b.size() && (a.size() == 0 || std::memcmp(&*a.begin(), &*b.begin(), a.size() * sizeof(*a.begin())) == 0);
}

bool ShapeModel::identical(const ShapeModel &other) const {
    if (!bitwise_equal(initial_shape, other.initial_shape) || levels.size() != other.levels.size()) return false;
    for (size_t c = 0; c < levels.size(); c++) {
        const Level &a = levels[c], &b = other.levels[c];
        if (!(bitwise_equal(a.anchor, b.anchor) && bitwise_equal(a.dx, b.dx) && bitwise_equal(a.dy, b.dy) && a.trees == b.trees &&
              bitwise_equal(a.splits, b.splits) && bitwise_equal(a.leaves, b.leaves)))
            return false;
    }
    return total_trees == other.total_trees && depth == other.depth && split_slots == other.split_slots &&
           leaves_per_tree == other.leaves_per_tree && leaf_stride == other.leaf_stride && prefetch_trees == other.prefetch_trees;
}

void ShapeModel::fit(const uint8_t *gray, int w, int h, size_t step, const dlib::rectangle &rect, float *xy,
                     int32_t *leaves) const {
    const size_t shape_size = (size_t)initial_shape.size();
    const dlib::point_transform_affine tform_to_img = dlib::impl::unnormalizing_tform(rect);
    const dlib::matrix<double, 2, 2> &m = tform_to_img.get_m();
    const double m00 = m(0, 0), m01 = m(0, 1), m10 = m(1, 0), m11 = m(1, 1);
    const double b0 = tform_to_img.get_b().x(), b1 = tform_to_img.get_b().y();

    // The shape as dlib holds it (for its similarity transform), and a copy padded to the leaf
    // stride that the leaves are added to.
    dlib::matrix<float, 0, 1> current_shape = initial_shape;
    std::vector<float> shape(leaf_stride, 0.0f);
    std::copy(initial_shape.begin(), initial_shape.end(), shape.begin());
    std::vector<float> anchor_x, anchor_y;
    std::vector<int32_t> xs, ys, features;
    std::vector<size_t> leaf;
    int32_t tree_number = 0;

    for (const Level &level : levels) {
        // dlib's extract_feature_pixel_values: each feature pixel is its offset, turned by the
        // similarity transform from the mean shape to the current one, added to its anchor
        // point, then mapped from the unit square to the face box and rounded to a pixel.
        const dlib::matrix<float, 2, 2> tform =
            dlib::matrix_cast<float>(dlib::impl::find_tform_between_shapes(initial_shape, current_shape).get_m());
        const float t00 = tform(0, 0), t01 = tform(0, 1), t10 = tform(1, 0), t11 = tform(1, 1);
        const size_t n = level.anchor.size();
        anchor_x.resize(n);
        anchor_y.resize(n);
        for (size_t i = 0; i < n; i++) {
            anchor_x[i] = shape[level.anchor[i]];
            anchor_y[i] = shape[level.anchor[i] + 1];
        }
        xs.resize(n);
        ys.resize(n);
        for (size_t i = 0; i < n; i++) {
            const float dx = level.dx[i], dy = level.dy[i];
            float qx = t00 * dx;
            qx += t01 * dy;
            qx += anchor_x[i];
            float qy = t10 * dx;
            qy += t11 * dy;
            qy += anchor_y[i];
            double px = m00 * (double)qx;
            px += m01 * (double)qy;
            px += b0;
            double py = m10 * (double)qx;
            py += m11 * (double)qy;
            py += b1;
            xs[i] = to_pixel(px);
            ys[i] = to_pixel(py);
        }
        features.resize(n);
        for (size_t i = 0; i < n; i++) {
            const int32_t x = xs[i], y = ys[i];
            features[i] = x >= 0 && x < w && y >= 0 && y < h ? gray[(size_t)y * step + (size_t)x] : 0;
        }

        leaf.resize(level.trees);
        size_t t = 0;
        for (; t + 8 <= level.trees; t += 8) walk<8>(&level.splits[t * split_slots], split_slots, depth, features.data(), &leaf[t]);
        for (; t < level.trees; t++) walk<1>(&level.splits[t * split_slots], split_slots, depth, features.data(), &leaf[t]);

        // dlib's current_shape += leaf, tree after tree, each leaf prefetched prefetch_trees
        // trees before it is added.
        const float *tree_leaves = level.leaves.data();
        const size_t tree_floats = leaves_per_tree * leaf_stride;
        const auto chosen = [&](size_t tree) { return tree_leaves + tree * tree_floats + leaf[tree] * leaf_stride; };
        const auto prefetch = [&](size_t tree) {
            for (size_t b = 0; b < leaf_stride * sizeof(float); b += cache_line) __builtin_prefetch((const char *)chosen(tree) + b);
        };
        for (t = 0; t < std::min(prefetch_trees, level.trees); t++) prefetch(t);
        for (t = 0; t < level.trees; t++) {
            if (t + prefetch_trees < level.trees) prefetch(t + prefetch_trees);
            const float *values = chosen(t);
            for (size_t j = 0; j < leaf_stride; j++) shape[j] += values[j];
            if (leaves) leaves[tree_number] = (int32_t)(tree_number * leaves_per_tree + leaf[t]);
            tree_number++;
        }
        std::copy(shape.begin(), shape.begin() + shape_size, current_shape.begin());
    }

    for (size_t p = 0; p < shape_size / 2; p++) {
        const double sx = current_shape(2 * p), sy = current_shape(2 * p + 1);
        double px = m00 * sx;
        px += m01 * sy;
        px += b0;
        double py = m10 * sx;
        py += m11 * sy;
        py += b1;
        xy[2 * p] = (float)to_pixel(px);
        xy[2 * p + 1] = (float)to_pixel(py);
    }
}

}  // namespace mien
