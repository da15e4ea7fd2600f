import MienNN

/// CNN architectures `mien train cnn --architecture` builds from scratch, as model descriptions
/// (the `model.json` layer graph of `models/fer2013`, so a trained one is a bundle like any other).
///
/// Families, all with batch norm after every convolution, ReLU, and a global-average-pooled
/// embedding feeding a 1×1 convolution to the classes (no dense layers, no dropout):
/// - `vgg-<w>`: VGG-style, four stages of two 3×3 convolutions with w, 2w, 4w, 8w filters, a 2×2
///   max pool after each of the first three; embedding = the last stage's 8w channels.
///   `vgg-32` is ~118 M multiply-adds per 48×48 face.
/// - `xception-<w>`: the mini-Xception of `models/fer2013` (Arriaga et al. 2017) with its block
///   widths multiplied by w/16 (`xception-16` is the original), embedding = the last block.
public enum CNNArchitectures {
    public static let examples = ["vgg-16", "vgg-24", "vgg-32", "xception-16", "xception-32"]

    /// The description of the architecture `name` for `side`×`side` gray input and `labels`.
    public static func description(_ name: String, side: Int, labels: [String]) throws -> CNNDescription {
        let parts = name.split(separator: "-")
        guard parts.count == 2, let width = Int(parts[1]), width >= 4, width <= 256 else {
            throw TrainingError("unknown architecture \"\(name)\": give a family and a width, e.g. \(examples.joined(separator: ", "))")
        }
        guard side >= 16, side <= 256 else { throw TrainingError("--input-size must be 16…256, got \(side)") }
        var g = LayerList()
        switch parts[0] {
        case "vgg": g.vgg(width: width)
        case "xception": g.xception(width: width)
        default:
            throw TrainingError("unknown architecture family \"\(parts[0])\": choose vgg or xception (e.g. \(examples.joined(separator: ", ")))")
        }
        let embedding = g.last
        g.conv("logits_conv", filters: labels.count, kernel: 1, bias: true)
        g.add("logits", "GlobalAveragePooling2D", [:])
        g.add("predictions", "Activation", ["activation": "softmax"])
        let json: [String: Any] = [
            "format_version": 1,
            "architecture": name,
            "labels": labels,
            "input": ["height": side, "width": side, "channels": 1, "layout": "NHWC", "dtype": "float32", "color": "grayscale"],
            "preprocessing": ["scale": 1.0 / 255.0, "offset": -0.5, "multiplier": 2.0, "formula": "((x / 255) - 0.5) * 2 for x in [0, 255]"],
            "embedding": ["layer": embedding, "pooling": "global_average"],
            "output": ["layer": "predictions", "activation": "softmax", "size": labels.count],
            "weights": ["file": "model.safetensors"],
            "layers": g.layers,
        ]
        return try CNNDescription.parse(json, origin: "architecture \(name)")
    }
}

/// A layer graph being written in `model.json` form; each layer reads the previous one unless
/// told otherwise.
private struct LayerList {
    var layers: [[String: Any]] = [["name": "input", "type": "InputLayer", "config": [:], "inputs": []]]
    var last = "input"

    mutating func add(_ name: String, _ type: String, _ config: [String: Any], inputs: [String]? = nil) {
        layers.append(["name": name, "type": type, "config": config, "inputs": inputs ?? [last]])
        last = name
    }

    mutating func conv(_ name: String, filters: Int, kernel: Int, stride: Int = 1, bias: Bool = false, padding: String = "same") {
        add(name, "Conv2D", ["filters": filters, "kernel_size": [kernel, kernel], "strides": [stride, stride],
                             "padding": padding, "use_bias": bias, "activation": "linear"])
    }

    mutating func separable(_ name: String, filters: Int) {
        add(name, "SeparableConv2D", ["filters": filters, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                      "use_bias": false, "depth_multiplier": 1, "activation": "linear"])
    }

    mutating func bn(_ name: String, relu: Bool) {
        add("\(name)_bn", "BatchNormalization", ["epsilon": 0.001, "momentum": 0.99])
        if relu { add("\(name)_relu", "Activation", ["activation": "relu"]) }
    }

    mutating func pool(_ name: String, size: Int, stride: Int) {
        add(name, "MaxPooling2D", ["pool_size": [size, size], "strides": [stride, stride], "padding": "same"])
    }

    mutating func vgg(width w: Int) {
        for (stage, filters) in [w, 2 * w, 4 * w, 8 * w].enumerated() {
            for i in 1...2 {
                let name = "conv\(stage + 1)_\(i)"
                conv(name, filters: filters, kernel: 3)
                bn(name, relu: true)
            }
            if stage < 3 { pool("pool\(stage + 1)", size: 2, stride: 2) }
        }
    }

    /// mini-Xception: two 3×3 convolutions of w/2, then four residual blocks (w, 2w, 4w, 8w) of
    /// two separable convolutions and a strided max pool added to a strided 1×1 convolution.
    mutating func xception(width w: Int) {
        let base = max(w / 2, 4)
        conv("conv1", filters: base, kernel: 3, padding: "valid"); bn("conv1", relu: true)
        conv("conv2", filters: base, kernel: 3, padding: "valid"); bn("conv2", relu: true)
        for (b, filters) in [w, 2 * w, 4 * w, 8 * w].enumerated() {
            let input = last, n = b + 1
            conv("block\(n)_residual", filters: filters, kernel: 1, stride: 2)
            bn("block\(n)_residual", relu: false)
            let residual = last
            last = input
            separable("block\(n)_sep1", filters: filters); bn("block\(n)_sep1", relu: true)
            separable("block\(n)_sep2", filters: filters); bn("block\(n)_sep2", relu: false)
            pool("block\(n)_pool", size: 3, stride: 2)
            add("block\(n)_add", "Add", [:], inputs: [last, residual])
        }
    }
}
