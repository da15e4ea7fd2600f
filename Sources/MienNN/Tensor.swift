/// A dense, contiguous, row-major Float32 tensor.
///
/// Layout conventions used across MienNN:
/// - images are NHWC: `[batch, height, width, channels]`;
/// - sequences are N×T×D: `[batch, time, features]`;
/// - matrices are row-major `[rows, columns]`;
/// - convolution kernels are HWIO `[kh, kw, cin, cout]` (Keras layout);
/// - depthwise kernels are `[kh, kw, cin, depthMultiplier]` (Keras layout);
/// - dense kernels are `[in, out]` (Keras layout).
public struct Tensor: Sendable, Equatable {
    /// The extent of each axis, outermost first.
    public var shape: [Int]
    /// The elements in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor shape must be non-negative, got \(shape)")
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of `shape` holding `data` (row-major).
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "tensor shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of `shape` whose elements are not set: for outputs a kernel writes in full (it
    /// skips the zero-fill, a pass over memory per layer and step). Read nothing before writing it.
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "tensor shape must be non-negative, got \(shape)")
        let n = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    /// The number of elements.
    public var count: Int { data.count }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// The element at a multi-index (slow; for tests and small tensors).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) does not match shape \(shape)")
        var flat = 0
        for (i, n) in zip(index, shape) {
            precondition(i >= 0 && i < n, "index \(index) out of range for shape \(shape)")
            flat = flat * n + i
        }
        return flat
    }

    /// The largest absolute element-wise difference to `other` (same shape).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<data.count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }
}

extension Tensor {
    /// Element-wise sum with a tensor of the same shape.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "shapes differ: \(a.shape) vs \(b.shape)")
        var r = a
        r.data.withUnsafeMutableBufferPointer { rp in
            b.data.withUnsafeBufferPointer { bp in
                for i in 0..<rp.count { rp[i] += bp[i] }
            }
        }
        return r
    }

    /// Adds `other` (same shape) into `self`, element-wise.
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        data.withUnsafeMutableBufferPointer { rp in
            other.data.withUnsafeBufferPointer { bp in
                for i in 0..<rp.count { rp[i] += bp[i] }
            }
        }
    }
}
