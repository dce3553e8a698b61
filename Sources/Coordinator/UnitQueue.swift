/// A job's units waiting for a worker, oldest first. Taking the first one and adding at the
/// back cost O(1): a job may queue thousands of units (its credit times the units per image),
/// and an array's `removeFirst` would move all of them on every dispatch.
struct UnitQueue: Sequence {
    /// Taken slots before `head` are nil (their pixels released at once).
    private var slots: [UnitTask?] = []
    private var head = 0

    var isEmpty: Bool { head == slots.count }
    var count: Int { slots.count - head }
    var first: UnitTask? { isEmpty ? nil : slots[head] }

    mutating func append(_ task: UnitTask) { slots.append(task) }

    /// Puts a unit at the front (a re-queued or late unit goes before the others); O(1) after
    /// a `removeFirst`, else O(n) (rare: only when a worker is lost or late).
    mutating func prepend(_ task: UnitTask) {
        if head > 0 {
            head -= 1
            slots[head] = task
        } else {
            slots.insert(task, at: 0)
        }
    }

    /// Takes the first unit (the queue must not be empty).
    mutating func removeFirst() -> UnitTask {
        // Slots from `head` on are never nil; an empty queue is the caller's error.
        guard head < slots.count, let task = slots[head] else { preconditionFailure("removeFirst on an empty UnitQueue") }
        slots[head] = nil
        head += 1
        if head == slots.count {
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && 2 * head >= slots.count {
            // Compact once the taken half outweighs the rest: amortised O(1).
            slots.removeFirst(head)
            head = 0
        }
        return task
    }

    /// The waiting units, oldest first.
    func makeIterator() -> some IteratorProtocol<UnitTask> { slots[head...].lazy.compactMap { $0 }.makeIterator() }

    /// Takes the unit at `offset` from the front (0: `removeFirst`, O(1); else O(n), for a setup
    /// unit that must skip a worker).
    mutating func remove(at offset: Int) -> UnitTask {
        if offset == 0 { return removeFirst() }
        return slots.remove(at: head + offset)!
    }

    /// The unit at `offset` from the front, left in place.
    func peek(at offset: Int) -> UnitTask? {
        head + offset < slots.count ? slots[head + offset] : nil
    }

    /// The offset from the front of the first unit that matches.
    func firstOffset(where matches: (UnitTask) -> Bool) -> Int? {
        slots[head...].firstIndex { $0.map(matches) ?? false }.map { $0 - head }
    }

    func contains(unit: Int) -> Bool {
        slots[head...].contains { $0?.spec.unit == unit }
    }

    /// Removes every queued copy of `unit`.
    mutating func remove(unit: Int) {
        let kept = slots[head...].filter { $0?.spec.unit != unit }
        guard kept.count != count else { return }
        slots = Array(kept)
        head = 0
    }
}
