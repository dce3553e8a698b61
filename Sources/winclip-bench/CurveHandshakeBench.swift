import ArgumentParser
import Coordinator
import Foundation
import Logging
import Protocol
import Synchronization
import Transport

/// What a CURVE handshake costs a connection: a coordinator on 127.0.0.1 (the real loop, with
/// its ZAP handler and key folders) and N clients connecting one after another, each timing
/// connect -> first answer; the same with `security.mode: none` in the same run.
struct CurveHandshakeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curve-handshake",
        abstract: "Time connect-to-first-answer per connection with CURVE on and off (loopback TCP, same run).",
        discussion: """
        Starts the coordinator loop on 127.0.0.1 twice (security none, then curve with one \
        authorised client key), and for each connects --connections DEALERs one after another: \
        each sends a SUBMIT the coordinator refuses at once and waits for the REFUSED. Reports \
        the median and 90th percentile per connection and the CURVE overhead (difference of \
        medians), alternating the two modes over --rounds rounds.
        """)

    @Option(help: "Connections per mode and round.")
    var connections = 200

    @Option(help: "Rounds (modes alternate).")
    var rounds = 3

    func run() throws {
        var logger = Logger(label: "curve-bench")
        logger.logLevel = .critical
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("curve-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try CurveCertificate.generate(name: "coordinator", directory: dir.appendingPathComponent("keys"))
        let client = try CurveCertificate.generate(name: "bench", directory: dir.appendingPathComponent("clients"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("workers"), withIntermediateDirectories: true)
        let curve = CoordinatorSecurity.curve(CurveServer(keys: server.keys, authorizedWorkers: dir.appendingPathComponent("workers"),
                                                          authorizedClients: dir.appendingPathComponent("clients")))
        // A SUBMIT the coordinator refuses without a worker or a model: too many references.
        let refusedSubmit = WireMessage(.submit, SubmitRequest(options: .init(className: "x"), referenceCount: 1000, imageCount: 1, wantMaps: false)).frames
        var samples: [String: [Double]] = ["none": [], "curve": []]
        for round in 0..<rounds {
            for (mode, security, peer) in [("none", CoordinatorSecurity.none, PeerSecurity.none),
                                           ("curve", curve, PeerSecurity.curve(serverKey: server.keys.publicKey, keys: client.keys))] {
                let context = ZMQContext()
                var loop = CoordinatorLoop(context: context, endpoint: "tcp://127.0.0.1:*", settings: CoordinatorSettings(), logger: logger)
                loop.security = security
                let stop = StopSignal(), bound = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
                let endpoint = EndpointBox()
                let serving = loop
                Thread.detachNewThread {
                    do { try serving.run(stop: stop, bound: { endpoint.set($0); bound.signal() }) } catch { print("coordinator: \(error)"); bound.signal() }
                    done.signal()
                }
                bound.wait()
                for _ in 0..<connections {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let socket = try ZMQSocket(context, .dealer)
                    try peer.apply(to: socket)
                    try socket.connect(endpoint.get())
                    try socket.send(refusedSubmit)
                    guard let frames = try socket.receive(timeoutMs: 10_000), (try? WireMessage(frames: frames))?.type == .refused else {
                        throw ValidationError("no REFUSED within 10 s (\(mode))")
                    }
                    samples[mode]!.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    socket.close()
                }
                stop.request()
                done.wait()
                print("round \(round + 1) \(mode): done")
            }
        }
        func stats(_ v: [Double]) -> (median: Double, p90: Double) {
            let s = v.sorted()
            return (s[s.count / 2], s[min(s.count - 1, s.count * 9 / 10)])
        }
        let none = stats(samples["none"]!), withCurve = stats(samples["curve"]!)
        print(String(format: "connect -> first answer, %d connections per mode: none median %.3f ms (p90 %.3f), curve median %.3f ms (p90 %.3f)",
                     samples["none"]!.count, none.median, none.p90, withCurve.median, withCurve.p90))
        print(String(format: "CURVE handshake cost per connection: %.3f ms (curve/none = %.2fx)", withCurve.median - none.median, withCurve.median / none.median))
    }
}

/// The endpoint the coordinator thread bound, handed to the thread that waits for it.
private final class EndpointBox: Sendable {
    private let value = Mutex("")
    func set(_ v: String) { value.withLock { $0 = v } }
    func get() -> String { value.withLock { $0 } }
}
