import Foundation
import Protocol
import Synchronization
import Transport

/// Workers that compute nothing: N DEALER sockets, all polled by the one thread that calls
/// `run`, each announcing a model (READY), beating every second and answering every UNIT at
/// once with a RESULT of the shape a real worker sends (text: 2 vectors [E]; full: a score;
/// windows: one score per window). They load the coordinator, not the CPU: the scores are constants.
struct SimulatedWorkers: Sendable {
    let context: ZMQContext
    let endpoint: String
    let count: Int
    let ready: Ready
    /// The model's embedding size (the text unit's blobs).
    let embedDim: Int

    /// Counts shared with the thread that reads them while the workers run.
    final class Counters: Sendable {
        private let results = Atomic<Int>(0)
        private let connected = Atomic<Bool>(false)
        var answered: Int { results.load(ordering: .relaxed) }
        var isConnected: Bool { connected.load(ordering: .acquiring) }
        func answeredOne() { results.add(1, ordering: .relaxed) }
        func markConnected() { connected.store(true, ordering: .releasing) }
    }

    /// Serves until `stop` is requested. Throws on socket errors and on a message a real
    /// worker could not answer either (the benchmark must not count broken round trips).
    func run(stop: StopSignal, counters: Counters) throws {
        var sockets: [ZMQSocket] = []
        defer { sockets.forEach { $0.close() } }
        for i in 0..<count {
            let socket = try ZMQSocket(context, .dealer)
            try socket.setMaxMessageSize(FrameLimit.unknownModel)
            try socket.connect(endpoint)
            var me = ready
            me.name = "simulated-\(i + 1)"
            try socket.send(WireMessage(.ready, me).frames)
            sockets.append(socket)
        }
        counters.markConnected()
        let heartbeat = WireMessage(type: .heartbeat).frames
        let text = UnitReply.text(TextVectors(normal: [Float](repeating: 0.1, count: embedDim), anomalous: [Float](repeating: 0.2, count: embedDim)))
        var lastBeat = monotonicNow()
        while !stop.isRequested {
            let readable = try ZMQSocket.poll(sockets, timeoutMs: 100)
            for (socket, ready) in zip(sockets, readable) where ready {
                // Drain this socket: a worker may hold a CONTEXT and two UNITs.
                while let frames = try socket.receive(timeoutMs: 0) {
                    let message = try WireMessage(frames: frames)
                    guard message.type == .unit else { continue }  // CONTEXT, HEARTBEAT: nothing to answer
                    let spec = try UnitSpec(decoding: message, imageSize: self.ready.imageSize)
                    let reply: UnitReply
                    switch spec.work {
                    case .text: reply = text
                    case .fullPass: reply = .fullPass(imageScore: 0.5, fewShotPatches: nil)
                    case .windows(_, _, let windows, _, _): reply = .windows(zeroShot: [Float](repeating: 0.3, count: windows.count), fewShot: nil)
                    case .references:
                        throw ProtocolError("simulated workers serve zero-shot jobs only (got a references unit)")
                    }
                    try socket.send(reply.encode(job: spec.job, unit: spec.unit).frames)
                    counters.answeredOne()
                }
            }
            let now = monotonicNow()
            if now - lastBeat >= 1 {
                lastBeat = now
                for socket in sockets { try socket.send(heartbeat) }
            }
        }
        for socket in sockets { _ = try? socket.send(WireMessage(type: .bye).frames, dontWait: true) }
    }
}

/// Monotonic seconds.
func monotonicNow() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
