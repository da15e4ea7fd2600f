import CMienVision

/// Facts about the OpenCV build the vision shim links against.
public enum OpenCVInfo {
    /// OpenCV's version string, e.g. "4.6.0".
    public static var version: String { String(cString: mien_cv_version()) }

    /// CPUs this process may run on, as OpenCV counts them: the affinity mask (`taskset`),
    /// cpusets and cgroup CPU quotas (a container's `--cpus`), at least 1. Foundation's
    /// `activeProcessorCount` counts the machine's CPUs whatever the mask.
    public static let cpusAvailable = Int(mien_cpus_available())
}
