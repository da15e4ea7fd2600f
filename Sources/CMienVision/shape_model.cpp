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

#include <algorithm>
#include <cmath>
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

/// Reads a std::vector's length as dlib writes it (an unsigned long before the elements).
unsigned long read_length(std::istream &in) {
    unsigned long n;
    dlib::deserialize(n, in);
    return n;
}

[[noreturn]] void corrupt(const std::string &what) {
    throw dlib::serialization_error("inconsistent shape-predictor model: " + what);
}

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

void deserialize(ShapeModel &model, std::istream &in) {
    // dlib::deserialize(shape_predictor&, istream&) reads: version, initial_shape, forests,
    // anchor_idx, deltas. The forests (a vector of levels, each a vector of trees) are read here
    // tree by tree into the flat blocks, so dlib's per-leaf allocations never exist all at once.
    int version = 0;
    dlib::deserialize(version, in);
    if (version != 1) throw dlib::serialization_error("Unexpected version found while deserializing dlib::shape_predictor.");
    ShapeModel m;
    dlib::deserialize(m.initial_shape, in);
    const size_t shape_size = (size_t)m.initial_shape.size();
    if (shape_size == 0 || shape_size % 2 != 0) corrupt(dlib::cast_to_string(shape_size) + " shape coordinates");
    m.leaf_stride = (shape_size + 15) / 16 * 16;
    m.prefetch_trees = std::max<size_t>(1, cache_line / (m.leaf_stride * sizeof(float) / cache_line));

    // Lengths come from the file: levels and trees are appended as they are read, so a garbled
    // length ends in a read error, not a huge allocation.
    const unsigned long level_count = read_length(in);
    std::vector<unsigned long> max_feature;
    dlib::impl::regression_tree tree;
    for (unsigned long c = 0; c < level_count; c++) {
        ShapeModel::Level &level = m.levels.emplace_back();
        max_feature.push_back(0);
        level.trees = read_length(in);
        for (size_t t = 0; t < level.trees; t++) {
            deserialize(tree, in);
            const size_t splits = tree.splits.size(), leaves = tree.leaf_values.size();
            if (leaves != splits + 1 || (leaves & splits) != 0) corrupt("a tree that is not complete");
            if (m.leaves_per_tree == 0) {
                m.leaves_per_tree = leaves;
                m.split_slots = leaves;
                m.depth = (size_t)__builtin_ctzl(leaves);
            } else if (leaves != m.leaves_per_tree) {
                throw unsupported_model("trees of different depths");
            }
            for (const dlib::impl::split_feature &s : tree.splits) {
                if (s.idx1 >= ShapeModel::max_features || s.idx2 >= ShapeModel::max_features)
                    throw unsupported_model("more than 2048 feature pixels in a cascade level");
                max_feature.back() = std::max({max_feature.back(), s.idx1, s.idx2});
                const int thresh = std::isnan(s.thresh) || s.thresh >= 255 ? 255 : s.thresh < -256 ? -256 : (int)std::floor(s.thresh);
                level.splits.push_back({(uint32_t)s.idx1, (uint32_t)s.idx2, thresh});
            }
            level.splits.push_back({0, 0, 0});
            for (const dlib::matrix<float, 0, 1> &leaf : tree.leaf_values) {
                if ((size_t)leaf.size() != shape_size) corrupt("a leaf of the wrong size");
                level.leaves.insert(level.leaves.end(), leaf.begin(), leaf.end());
                level.leaves.resize(level.leaves.size() + m.leaf_stride - shape_size, 0.0f);
            }
        }
        level.splits.shrink_to_fit();
        level.leaves.shrink_to_fit();
        m.total_trees += level.trees;
    }

    std::vector<std::vector<unsigned long>> anchor_idx;
    std::vector<std::vector<dlib::vector<float, 2>>> deltas;
    dlib::deserialize(anchor_idx, in);
    dlib::deserialize(deltas, in);
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
    model = std::move(m);
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
