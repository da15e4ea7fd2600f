import Foundation
import MienCore
import MienVision

/// Face images in one folder per class: `ROOT/<class>/<image>`, class folder names are Mien's
/// labels (angry, disgust, fear, happy, sad, surprise, neutral; not every class needs a
/// folder). Images in any format OpenCV reads are converted to gray and resized to the CNN's
/// side with bilinear interpolation (as `fer` does). Each image is its own group; the split is
/// stratified and seeded.
public enum ImageFolderDataset {
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "pgm", "ppm", "pbm", "tif", "tiff", "webp"]

    /// Reads every image; errors name the folder or file. Hidden entries (dot files) are skipped.
    public static func read(root: String, side: Int = 64, labels: [String] = ExpressionClass.labels) throws -> FaceImageSet {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw TrainingError("\(root) is not a folder: give a folder with one sub-folder of images per class")
        }
        let entries = try fm.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
        var set = FaceImageSet(side: side)
        var classFolders = 0
        for name in entries {
            let dir = (root as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw TrainingError("\(dir) is a file, but \(root) must hold only class folders (\(labels.joined(separator: ", "))): move it out")
            }
            guard let label = labels.firstIndex(of: name) else {
                throw TrainingError("\(dir): unknown class \"\(name)\"; class folders must be named one of \(labels.joined(separator: ", "))")
            }
            classFolders += 1
            let files = try fm.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            var found = 0
            for file in files {
                let path = (dir as NSString).appendingPathComponent(file)
                guard imageExtensions.contains((file as NSString).pathExtension.lowercased()) else {
                    throw TrainingError("\(path) is not an image (\(imageExtensions.sorted().joined(separator: ", "))): remove it from the class folder")
                }
                let image: GrayImage
                do { image = try GrayImage.read(path: path) } catch {
                    throw TrainingError("cannot read the image \(path): \(error)")
                }
                let face = image.width == side && image.height == side ? image
                    : try image.resized(width: side, height: side, interpolation: .linear)
                let rel = "\(name)/\(file)"
                set.append(pixels: face.pixels, label: label, group: rel, source: rel)
                found += 1
            }
            guard found > 0 else { throw TrainingError("class folder \(dir) has no images: add some or remove the folder") }
        }
        guard classFolders > 0 else { throw TrainingError("\(root) has no class folders: make one per class (\(labels.joined(separator: ", "))) holding face images") }
        return set
    }

    /// A set that comes split: `root` holds `train/` and `validation/` (or `val/`), and optionally
    /// `test/`, each a folder of class folders (FER2013's image release is laid out so). Nil when
    /// `root` has no `train/` folder.
    public static func readSplits(root: String, side: Int = 64, labels: [String] = ExpressionClass.labels) throws -> FaceImageSplits? {
        let fm = FileManager.default
        func folder(_ names: String...) -> String? {
            for n in names {
                let p = (root as NSString).appendingPathComponent(n)
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue { return p }
            }
            return nil
        }
        guard let train = folder("train") else { return nil }
        guard let validation = folder("validation", "val") else {
            throw TrainingError("\(root) has train/ but no validation/ (or val/): add the validation split beside it, or give the class folders' parent alone")
        }
        return FaceImageSplits(train: try read(root: train, side: side, labels: labels),
                               validation: try read(root: validation, side: side, labels: labels),
                               test: try folder("test").map { try read(root: $0, side: side, labels: labels) } ?? FaceImageSet(side: side),
                               how: "the set's own split (train/, validation/\(folder("test") != nil ? ", test/" : ""))")
    }
}
