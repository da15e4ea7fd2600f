import CMienVision

/// Facts about the OpenCV build the vision shim links against.
public enum OpenCVInfo {
    /// OpenCV's version string, e.g. "4.6.0".
    public static var version: String { String(cString: mien_cv_version()) }
}
