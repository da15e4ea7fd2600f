import MienCore

/// A seeded, reproducible random number generator for tests.
public typealias SeededGenerator = SplitMix64
