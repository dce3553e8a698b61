import Foundation

/// Messages per second per peer, as token buckets: a peer may send `burst` messages at once
/// and `rate` per second after that. A peer over the limit is cut off for `banSeconds`: its
/// messages are dropped unread (the coordinator forgets it, so a well-behaved program
/// reconnects afresh; a flood costs one dictionary look-up per message).
package struct PeerRateLimiter {
    package let rate: Double
    package let burst: Double
    package let banSeconds: Double
    private var buckets: [Data: (tokens: Double, last: Double)] = [:]
    private var banned: [Data: Double] = [:]
    private var lastPrune = 0.0

    package init(messagesPerSecond: Double, burstSeconds: Double = 2, banSeconds: Double = 60) {
        rate = messagesPerSecond
        burst = max(1, messagesPerSecond * burstSeconds)
        self.banSeconds = banSeconds
    }

    package enum Verdict: Equatable {
        case admit
        /// The first message over the limit: the caller cuts the peer off (and says so once).
        case cutOff
        /// A message of a peer that is cut off.
        case drop
    }

    package mutating func admit(_ peer: Data, at now: Double) -> Verdict {
        prune(at: now)
        if let until = banned[peer] {
            if now < until { return .drop }
            banned[peer] = nil
        }
        var bucket = buckets[peer] ?? (burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.last) * rate)
        bucket.last = now
        guard bucket.tokens >= 1 else {
            buckets[peer] = nil
            banned[peer] = now + banSeconds
            return .cutOff
        }
        bucket.tokens -= 1
        buckets[peer] = bucket
        return .admit
    }

    /// Forgets full buckets and ended bans, so that memory follows the live peers.
    private mutating func prune(at now: Double) {
        guard now - lastPrune > 10 else { return }
        lastPrune = now
        buckets = buckets.filter { min(burst, $0.value.tokens + (now - $0.value.last) * rate) < burst }
        banned = banned.filter { $0.value > now }
    }

    package var trackedPeers: Int { buckets.count + banned.count }
}

/// At most `perSecond` warning and error lines per second from the coordinator loop: a peer
/// sending garbage cannot fill the log (the lines held back are counted and reported).
package struct LogThrottle {
    package let perSecond: Int
    private var windowStart = -Double.infinity
    private var inWindow = 0
    private var suppressed = 0

    package init(perSecond: Int = 20) { self.perSecond = perSecond }

    /// Whether to write a line now; `summary` is a line to write first about what was held back.
    package mutating func admit(at now: Double) -> (write: Bool, summary: String?) {
        var summary: String?
        if now - windowStart >= 1 {
            if suppressed > 0 { summary = "\(suppressed) warning(s) not logged in the last second (more than \(perSecond) a second)" }
            windowStart = now
            inWindow = 0
            suppressed = 0
        }
        guard inWindow < perSecond else {
            suppressed += 1
            return (false, summary)
        }
        inWindow += 1
        return (true, summary)
    }
}
