#if canImport(Glibc)
import CLibcExtras
#endif

/// glibc's allocator settings for training.
///
/// A training step allocates and frees the same few hundred tensors of up to tens of MB each.
/// By default glibc serves blocks over 128 KB–32 MB with `mmap` and returns them with `munmap`,
/// so every step faulted in fresh zeroed pages from the kernel (a profile of `mien train cnn`
/// showed ~8 % of its time in page faults and the kernel's page clearing). Keeping freed
/// blocks in the heap makes the next step reuse them.
public enum HeapTuning {
    /// Serve allocations up to 1 GiB from the heap and never trim it (process-wide; for
    /// training processes, whose working set is the same every step).
    public static func keepFreedMemoryForReuse() {
        #if canImport(Glibc)
        _ = mallopt(Int32(MIEN_M_MMAP_THRESHOLD), 1 << 30)
        _ = mallopt(Int32(MIEN_M_TRIM_THRESHOLD), Int32.max)
        #endif
    }
}
