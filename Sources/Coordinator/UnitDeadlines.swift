import Protocol

/// How long a unit may take before another worker is asked to compute it too: several times
/// the running median of that kind of unit's compute time, never less than a floor, and a
/// generous default until a few units of the kind have finished.
struct UnitDeadlines: Sendable {
    struct Settings: Sendable, Equatable {
        /// Deadline = factor x the median compute time of the unit's kind...
        var factor = 4.0
        /// ...but at least this many seconds...
        var floor = 10.0
        /// ...and this many until a unit of the kind has finished (one sample is enough: the
        /// floor guards against a lucky first one, and a job must not wait `initial` on a
        /// worker that holds its first units while others answer theirs).
        var initial = 120.0
        var minimumSamples = 1
        /// Compute times kept per kind (the most recent).
        var window = 64
    }

    let settings: Settings
    private var samples: [UnitKind: [Double]] = [:]
    /// The median per kind, kept up to date by `record` (the clock asks for it for every unit
    /// in flight on every tick).
    private var medians: [UnitKind: Double] = [:]

    init(settings: Settings) { self.settings = settings }

    mutating func record(_ kind: UnitKind, seconds: Double) {
        guard seconds.isFinite, seconds >= 0 else { return }
        var s = samples[kind, default: []]
        s.append(seconds)
        if s.count > settings.window { s.removeFirst() }
        samples[kind] = s
        guard s.count >= settings.minimumSamples else { return }
        let sorted = s.sorted()
        medians[kind] = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    func median(_ kind: UnitKind) -> Double? { medians[kind] }

    func deadline(_ kind: UnitKind) -> Double {
        guard let m = medians[kind] else { return settings.initial }
        return max(settings.floor, settings.factor * m)
    }
}
