import Protocol

/// Images answered per second over the last minutes, for the status page's chart: a running
/// count sampled at most every `interval` seconds, `capacity` samples kept.
public struct ThroughputHistory: Sendable, Equatable {
    public let interval: Double
    public let capacity: Int
    private var samples: [(time: Double, images: Int)] = []

    public init(interval: Double = 10, capacity: Int = 60) {
        self.interval = interval
        self.capacity = capacity
    }

    /// The running count of answered images at wall-clock `time`.
    public mutating func sample(images: Int, at time: Double) {
        if let last = samples.last, time - last.time < interval { return }
        samples.append((time, images))
        if samples.count > capacity + 1 { samples.removeFirst(samples.count - capacity - 1) }
    }

    /// One rate per interval between consecutive samples, oldest first.
    public var points: [ThroughputPoint] {
        zip(samples, samples.dropFirst()).map { a, b in
            ThroughputPoint(time: b.time, imagesPerSecond: Double(b.images - a.images) / max(b.time - a.time, 1e-9))
        }
    }

    public static func == (a: ThroughputHistory, b: ThroughputHistory) -> Bool {
        a.interval == b.interval && a.capacity == b.capacity && a.samples.map(\.time) == b.samples.map(\.time) && a.samples.map(\.images) == b.samples.map(\.images)
    }
}
