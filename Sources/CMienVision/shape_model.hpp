// A dlib shape-predictor model held in flat arrays, and its evaluator (C++ only, not part of the
// C API; see shape_model.cpp for the layout and why it is hand-written).
#pragma once
#include <cstddef>
#include <cstdint>
#include <istream>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>
#include <dlib/geometry/rectangle.h>
#include <dlib/matrix.h>

namespace mien {

/// Allocates on 64-byte boundaries, so that each tree's splits and each padded leaf start a cache
/// line (malloc aligns to 16 bytes).
template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U> &) {}
    T *allocate(size_t n) { return static_cast<T *>(::operator new(n * sizeof(T), std::align_val_t(64))); }
    void deallocate(T *p, size_t) { ::operator delete(p, std::align_val_t(64)); }
    bool operator==(const CacheLineAllocator &) const { return true; }
    bool operator!=(const CacheLineAllocator &) const { return false; }
};

/// A well-formed dlib model that the flat layout cannot hold: trees of different depths, or more
/// than 2048 feature pixels in a cascade level (dlib's trainer uses 400 unless told otherwise,
/// its face models 500 and 800).
struct unsupported_model : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The cascade of regression trees of a dlib `shape_predictor`, read from its serialised form
/// (`deserialize`, below) into contiguous arrays; `fit` computes exactly what
/// `dlib::shape_predictor::operator()` computes. Immutable once read: one instance can serve any
/// number of threads at once.
class ShapeModel {
public:
    /// 68 or 5 for dlib's face models.
    unsigned long num_parts() const { return (unsigned long)initial_shape.size() / 2; }
    /// Trees over all cascade levels (15 × 500 in dlib's face models).
    size_t num_trees() const { return total_trees; }

    /// Fits the shape in `rect` (pixels of the gray image `gray`, `w` × `h`, rows `step` bytes
    /// apart; feature pixels outside the image read 0, as dlib's) and writes num_parts() (x, y)
    /// pairs in whole pixels to `xy`, rounded as dlib rounds them. If `leaves` is not null, it
    /// receives num_trees() numbers: for each tree in cascade order, the leaf it chose plus the
    /// leaves of all trees before it (dlib's feature numbering in its `operator()` with `feats`).
    /// `rect` and the image must lie within ±2^30 pixels (they are rounded through 32-bit ints).
    void fit(const uint8_t *gray, int w, int h, size_t step, const dlib::rectangle &rect, float *xy,
             int32_t *leaves) const;

    /// Reads a model file as `dlib::deserialize(shape_predictor&, istream&)` does, decoding
    /// dlib's format from the file's bytes in memory (see shape_model.cpp: several times faster
    /// than dlib's stream decoding). Throws `dlib::serialization_error` for a file that cannot be
    /// read or is not such a model (truncated, garbled, or inconsistent: an index out of range, a
    /// leaf of the wrong size), `unsupported_model` for one the layout cannot hold.
    friend void load(ShapeModel &model, const std::string &path);
    /// The same from bytes in memory.
    friend void load(ShapeModel &model, const unsigned char *data, size_t size);
    /// The same through dlib's own stream decoding (`dlib::deserialize`): the reference that
    /// `load` is tested and timed against.
    friend void deserialize(ShapeModel &model, std::istream &in);

    /// Whether `other` holds the same model bit for bit: every array and every size.
    bool identical(const ShapeModel &other) const;

    /// One split of a tree in 32 bits: go left when feature[idx1] − feature[idx2] > thresh.
    /// dlib's threshold is a float, but the difference d of two 8-bit pixels is a whole number in
    /// [−255, 255], and for a whole d, d > t exactly when d > floor(t), which can be clamped to
    /// [−256, 255] without changing any comparison (a NaN threshold, never exceeded, becomes 255).
    struct Split {
        uint32_t idx1 : 11;
        uint32_t idx2 : 11;
        int32_t thresh : 10;
    };
    static constexpr unsigned long max_features = 1 << 11;

private:
    /// Builds the flat model from a shape_predictor's serialised form, each value read with
    /// `read(value)` (either decoder of shape_model.cpp).
    template <class Decoder>
    static ShapeModel decode(Decoder &read);

    /// One cascade level: the feature pixels it reads and its trees.
    struct Level {
        /// Per feature pixel: 2 × the index of its anchor point in the shape vector.
        std::vector<uint32_t> anchor;
        /// Per feature pixel: its offset from the anchor in the mean shape's frame.
        std::vector<float> dx, dy;
        size_t trees = 0;
        /// `split_slots` per tree: the tree's splits in dlib's breadth-first order, then padding.
        std::vector<Split, CacheLineAllocator<Split>> splits;
        /// `leaves_per_tree` × `leaf_stride` floats per tree; a leaf's last floats are zero padding.
        std::vector<float, CacheLineAllocator<float>> leaves;
    };

    dlib::matrix<float, 0, 1> initial_shape;
    std::vector<Level> levels;
    size_t total_trees = 0;
    /// Node levels below the root (4 in dlib's face models), the same for every tree of the model.
    size_t depth = 0;
    /// 2^depth − 1 splits padded to 2^depth (16 × 4 bytes: one cache line per tree at depth 4).
    size_t split_slots = 0;
    size_t leaves_per_tree = 0;
    /// Floats per stored leaf: 2 × num_parts() rounded up to 16 (whole 64-byte cache lines).
    size_t leaf_stride = 0;
    /// How many trees ahead of the one being added the chosen leaves are prefetched: about 64
    /// cache lines.
    size_t prefetch_trees = 0;
};

}  // namespace mien
